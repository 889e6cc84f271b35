import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../../src/keys/hash.ts';
import { generateToken } from '../../src/keys/token.ts';
import {
  createLiveSecretFilter,
  EXPIRED_KEPT_MS,
  type LiveSecretFilter,
  type LiveSecretFilterOptions,
} from '../../src/services/live-secret-filter.ts';
import { readLiveSecretPrefixes } from '../../src/store/live-secret-prefixes.ts';
import { createTestKey, rotateTestKey } from '../support/fixtures.ts';
import { manualClock } from '../support/manual-clock.ts';
import { openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { cliActor, testServices } from '../support/test-services.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database.close());

const DAY = 24 * 3_600_000;
/** What the verify cache hands the filter: the token's SHA-256, one latin1 character per byte. */
const digestOf = (token: string) => createHash('sha256').update(token).digest().toString('latin1');
const madeUp = () => generateToken('rk_live').token;

const filters: LiveSecretFilter[] = [];
afterAll(() => {
  for (const filter of filters) filter.stop();
});

/** A filter over `live` (hex hashes) standing in for the database; each build waits for `gate()` if set. */
function filterOver(
  live: string[],
  options: Partial<LiveSecretFilterOptions> & { gate?: () => Promise<void> } = {},
) {
  const events: string[] = [];
  const filter = createLiveSecretFilter({
    clock: manualClock(),
    async readLivePrefixes() {
      await options.gate?.();
      return Buffer.concat(live.map((hash) => Buffer.from(hash.slice(0, 16), 'hex')));
    },
    onRebuilt: () => events.push('built'),
    onTrustChange: (trusted) => events.push(trusted ? 'trusted' : 'distrusted'),
    confirmPerSecond: 0,
    ...options,
  });
  filters.push(filter);
  return { filter, events };
}

/** A gate: builds wait at it until `open()`. */
function gate() {
  let open = () => {};
  let opened = new Promise<void>((resolve) => (open = resolve));
  return {
    wait: () => opened,
    open: () => open(),
    close: () => {
      opened = new Promise<void>((resolve) => (open = resolve));
    },
  };
}

describe('filter of live secrets', () => {
  it('holds every secret a live key can be answered for, and a rebuild drops the long expired and the deleted', async () => {
    const clock = manualClock(new Date());
    const services = testServices(database, { clock });
    const active = await createTestKey(services);
    const rotated = await createTestKey(services);
    const inGrace = await rotateTestKey(services, { id: rotated.key.id }, '24h');
    const cut = await createTestKey(services);
    const afterCut = await rotateTestKey(services, { id: cut.key.id }, 'now');
    const deleted = await createTestKey(services);
    await services.deleteKey({ key: { id: deleted.key.id }, actor: cliActor });

    const built: number[] = [];
    const filter = createLiveSecretFilter({
      clock,
      readLivePrefixes: (since) => readLiveSecretPrefixes(database.db, since),
      rebuildEveryMs: 30,
      onRebuilt: ({ secrets }) => built.push(secrets),
      confirmPerSecond: 0,
    });
    filters.push(filter);
    const says = (token: string) => filter.check(digestOf(token));
    const rebuilt = async () => {
      const before = built.length;
      const deadline = performance.now() + 5_000;
      while (built.length === before && performance.now() < deadline)
        await new Promise((r) => setTimeout(r, 10));
      expect(built.length, 'rebuilt on its schedule').toBeGreaterThan(before);
    };

    expect(says(active.token)).toBe('untrusted');
    filter.channelUp();
    await filter.settled();
    expect(filter.trusted).toBe(true);
    // The current secrets, the old one in grace, the one that expired just now (still EXPIRED).
    for (const token of [active.token, rotated.token, inGrace.token, cut.token, afterCut.token]) {
      expect(says(token)).toBe('maybe');
    }
    expect(says(deleted.token)).toBe('absent');
    expect(says(madeUp())).toBe('absent');

    // A month on, expired secrets stay only EXPIRED_KEPT_MS: within it they are still looked up.
    clock.advance(EXPIRED_KEPT_MS - DAY);
    await rebuilt();
    expect(says(cut.token)).toBe('maybe');
    clock.advance(2 * DAY);
    await rebuilt();
    expect(says(cut.token)).toBe('absent');
    expect(says(rotated.token)).toBe('absent');
    for (const token of [active.token, inGrace.token, afterCut.token]) expect(says(token)).toBe('maybe');
  });

  it('holds the secrets announced while it was being built', async () => {
    const announced = hashToken(madeUp());
    const builds = gate();
    const { filter } = filterOver([hashToken(madeUp())], { gate: builds.wait });
    filter.channelUp();
    expect(filter.check(digestOf(madeUp()))).toBe('untrusted');
    // Committed after the build read the database, heard before the build is done.
    filter.add([announced]);
    builds.open();
    await filter.settled();
    expect(filter.trusted).toBe(true);
    expect(filter.check(Buffer.from(announced, 'hex').toString('latin1'))).toBe('maybe');
  });

  it('rules nothing out from the moment the channel is down until a build started after it came back is done', async () => {
    const builds = gate();
    const { filter, events } = filterOver([], { gate: builds.wait });
    filter.channelUp();
    builds.open();
    await filter.settled();
    expect(filter.check(digestOf(madeUp()))).toBe('absent');

    filter.channelDown();
    expect(filter.check(digestOf(madeUp()))).toBe('untrusted');
    expect(filter.checkKnownAbsent()).toBe('untrusted');
    builds.close();
    filter.channelUp();
    // The channel drops and comes back while that build runs: its filter may lack what was announced
    // in between, so it is not trusted, and one more build runs.
    filter.channelDown();
    filter.channelUp();
    expect(filter.check(digestOf(madeUp()))).toBe('untrusted');
    builds.open();
    await filter.settled();
    expect(events).toEqual(['built', 'trusted', 'distrusted', 'built', 'built', 'trusted']);
    expect(filter.check(digestOf(madeUp()))).toBe('absent');
  });

  it('looks up the keys it rules out while they are rare, and answers a flood of them by itself', async () => {
    const { filter } = filterOver([], { confirmPerSecond: 5 });
    filter.channelUp();
    await filter.settled();
    const answers = Array.from({ length: 20 }, () => filter.check(digestOf(madeUp())));
    expect(answers).toEqual([...Array(5).fill('confirm'), ...Array(15).fill('absent')]);
    // A canary (known by other means to have no live secret) draws on the same budget.
    expect(filter.checkKnownAbsent()).toBe('absent');
    await new Promise((r) => setTimeout(r, 250));
    expect(filter.check(digestOf(madeUp()))).toBe('confirm');
  });

  it('is rebuilt, bigger, once more secrets were announced than it was sized for', async () => {
    const live: string[] = [];
    const { filter, events } = filterOver(live);
    filter.channelUp();
    await filter.settled();
    const small = filter.bytes;
    for (let i = 0; i < 2_000; i++) {
      const hash = randomBytes(32).toString('hex');
      live.push(hash);
      filter.add([hash]);
    }
    await filter.settled();
    expect(events.filter((e) => e === 'built').length).toBeGreaterThan(1);
    expect(filter.bytes).toBeGreaterThan(small);
    expect(filter.trusted).toBe(true);
    for (const hash of live) expect(filter.check(Buffer.from(hash, 'hex').toString('latin1'))).toBe('maybe');
  });
});
