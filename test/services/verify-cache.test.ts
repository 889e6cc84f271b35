import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateToken } from '../../src/keys/token.ts';
import { createVerifyCache } from '../../src/services/verify-cache.ts';
import { connectVerifyInvalidation } from '../../src/services/verify-invalidation.ts';
import { createVerifier } from '../../src/services/verify-key.ts';
import { prepareVerificationLookup, type VerificationRow } from '../../src/store/secrets-store.ts';
import { createTestKey, rotateTestKey } from '../support/fixtures.ts';
import { HOUR, manualClock } from '../support/manual-clock.ts';
import { openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { cliActor, testServices } from '../support/test-services.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database.close());

const token = () => generateToken('rk_live').token;
const row = (expiresAt: Date | null = null): VerificationRow => ({
  secretId: 's',
  keyId: 'k',
  name: 'n',
  products: ['p'],
  expiresAt,
  deletedAt: null,
});

describe('verify cache', () => {
  it('never grows past its bound, positive or negative', async () => {
    const cache = createVerifyCache({
      lookup: async (hash) => (hash.endsWith('0') ? undefined : row()),
      clock: manualClock(),
      maxEntries: 50,
      ttlMs: 60_000,
      negativeMaxEntries: 10,
    });
    for (let i = 0; i < 2_000; i++) await cache.verify(token());
    expect(cache.size).toBeLessThanOrEqual(60);
    expect(cache.size).toBeGreaterThan(0);
  });

  it('answers MALFORMED without touching the cache or the database', async () => {
    let lookups = 0;
    const cache = createVerifyCache({
      lookup: async () => {
        lookups++;
        return row();
      },
      clock: manualClock(),
      maxEntries: 10,
      ttlMs: 60_000,
    });
    const good = token();
    for (const bad of [
      `${good.slice(0, -1)}${good.endsWith('A') ? 'B' : 'A'}`,
      'rk_live_short',
      42,
      null,
      {},
    ]) {
      expect(await cache.verify(bad)).toEqual({ valid: false, code: 'MALFORMED' });
    }
    expect(lookups).toBe(0);
    expect(cache.size).toBe(0);
  });

  it('caches NOT_FOUND briefly, so a repeated unknown key costs one query', async () => {
    let lookups = 0;
    const cache = createVerifyCache({
      lookup: async () => {
        lookups++;
        return undefined;
      },
      clock: manualClock(),
      maxEntries: 10,
      ttlMs: 60_000,
      negativeTtlMs: 50,
    });
    const unknown = token();
    for (let i = 0; i < 5; i++)
      expect(await cache.verify(unknown)).toEqual({ valid: false, code: 'NOT_FOUND' });
    expect(lookups).toBe(1);
    await new Promise((r) => setTimeout(r, 80));
    await cache.verify(unknown);
    expect(lookups).toBe(2);
  });

  it('never says valid past expires_at, however fresh the entry', async () => {
    const clock = manualClock('2026-01-15T10:00:00.000Z');
    const cache = createVerifyCache({
      lookup: async () => row(new Date('2026-01-15T10:00:01.000Z')),
      clock,
      maxEntries: 10,
      ttlMs: 60_000,
    });
    const t = token();
    expect(await cache.verify(t)).toMatchObject({ valid: true, status: 'expiring' });
    clock.advance(999);
    expect(await cache.verify(t)).toMatchObject({ valid: true });
    clock.advance(1);
    expect(await cache.verify(t)).toEqual({ valid: false, code: 'EXPIRED' });
  });

  it('does not keep an answer read before an invalidation that arrived during the lookup', async () => {
    let release: (r: VerificationRow) => void = () => {};
    let lookups = 0;
    const cache = createVerifyCache({
      lookup: (): Promise<VerificationRow> => {
        lookups++;
        return lookups === 1 ? new Promise((r) => (release = r)) : Promise.resolve(row(new Date(0)));
      },
      clock: manualClock(),
      maxEntries: 10,
      ttlMs: 60_000,
    });
    const t = token();
    const pending = cache.verify(t);
    cache.invalidate([]); // any invalidation bumps the epoch
    release(row());
    await pending;
    expect(await cache.verify(t)).toEqual({ valid: false, code: 'EXPIRED' });
    expect(lookups).toBe(2);
  });

  it('keeps serving hits while the database is down, answers misses with an error fast, and recovers', async () => {
    let down = false;
    let outages = 0;
    const cache = createVerifyCache({
      lookup: async () => {
        if (down) throw new Error('connection refused');
        return row();
      },
      clock: manualClock(),
      maxEntries: 10,
      ttlMs: 60_000,
      failFastMs: 50,
      onUnavailable: () => outages++,
    });
    const known = token();
    expect(await cache.verify(known)).toMatchObject({ valid: true });
    down = true;
    expect(await cache.verify(known)).toMatchObject({ valid: true });
    await expect(cache.verify(token())).rejects.toMatchObject({ code: 'DATABASE_UNAVAILABLE' });
    const started = performance.now();
    await expect(cache.verify(token())).rejects.toMatchObject({ code: 'DATABASE_UNAVAILABLE' });
    expect(performance.now() - started).toBeLessThan(20);
    expect(outages).toBe(1);
    down = false;
    await new Promise((r) => setTimeout(r, 60));
    expect(await cache.verify(token())).toMatchObject({ valid: true });
  });

  it('gives up on a lookup that hangs instead of queueing behind it', async () => {
    const cache = createVerifyCache({
      lookup: () => new Promise(() => {}),
      clock: manualClock(),
      maxEntries: 10,
      ttlMs: 60_000,
      lookupTimeoutMs: 100,
    });
    const started = performance.now();
    await expect(cache.verify(token())).rejects.toMatchObject({ code: 'DATABASE_UNAVAILABLE' });
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});

describe('verify cache against the database', () => {
  it('walks a key through active → expiring → expired and never answers differently from the database', async () => {
    const clock = manualClock('2026-03-01T12:00:00.000Z');
    const services = testServices(database, { clock });
    const cache = createVerifyCache({
      lookup: prepareVerificationLookup(database.db),
      clock,
      maxEntries: 100,
      ttlMs: 3_600_000,
    });
    connectVerifyInvalidation(services.changes, cache);
    const uncached = createVerifier({ db: database.db, clock });
    const same = async (t: string) => {
      const [a, b] = [await cache.verify(t), await uncached(t)];
      expect(a).toEqual(b);
      return a;
    };

    const { token: first, key } = await createTestKey(services);
    expect(await same(first)).toMatchObject({ valid: true, status: 'active', expiresAt: null });
    expect(cache.size).toBe(1);

    const rotation = await rotateTestKey(services, { id: key.id }, '1h');
    const second = rotation.token;
    expect(await same(first)).toMatchObject({ valid: true, status: 'expiring' });
    expect(await same(second)).toMatchObject({ valid: true, status: 'active' });

    for (const step of [30 * 60_000, 29 * 60_000, 59_999, 1, 1, HOUR]) {
      clock.advance(step);
      await same(first);
      await same(second);
    }
    expect(await same(first)).toEqual({ valid: false, code: 'EXPIRED' });

    // Rotate again with grace, then end it: the cached "expiring" answer goes at once.
    const third = await services.rotateKey({
      key: { id: key.id },
      delay: '24h',
      actor: cliActor,
      acknowledged: true,
      requestId: 'walk-2',
    });
    if (third.status !== 'rotated') throw new Error('expected a rotation');
    expect(await same(second)).toMatchObject({ valid: true, status: 'expiring' });
    await services.endGrace({ key: { id: key.id }, actor: cliActor, acknowledged: true });
    expect(await same(second)).toEqual({ valid: false, code: 'EXPIRED' });
    expect(await same(third.token)).toMatchObject({ valid: true, status: 'active' });

    await services.deleteKey({ key: { id: key.id }, actor: cliActor });
    expect(await same(third.token)).toEqual({ valid: false, code: 'NOT_FOUND' });
  });

  it('an immediate rotation takes effect at once on the process that made it', async () => {
    const services = testServices(database);
    const cache = createVerifyCache({
      lookup: prepareVerificationLookup(database.db),
      clock: services.clock,
      maxEntries: 100,
      ttlMs: 3_600_000,
    });
    connectVerifyInvalidation(services.changes, cache);
    const { token: old, key } = await createTestKey(services);
    expect(await cache.verify(old)).toMatchObject({ valid: true });
    await services.rotateKey({
      key: { id: key.id },
      delay: 'now',
      actor: cliActor,
      acknowledged: true,
      requestId: 'now-1',
    });
    expect(await cache.verify(old)).toEqual({ valid: false, code: 'EXPIRED' });
  });
});
