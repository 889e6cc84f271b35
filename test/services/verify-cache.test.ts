import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../../src/keys/hash.ts';
import { generateToken } from '../../src/keys/token.ts';
import type { FilterAnswer } from '../../src/services/live-secret-filter.ts';
import { UsageCounter } from '../../src/services/usage-counter.ts';
import { createVerifyCache } from '../../src/services/verify-cache.ts';
import { connectVerifyInvalidation } from '../../src/services/verify-invalidation.ts';
import {
  prepareVerificationLookupMany,
  type VerificationRow,
  type VerificationRowByHash,
} from '../../src/store/secrets-store.ts';
import { createTestKey, rotateTestKey } from '../support/fixtures.ts';
import { HOUR, manualClock } from '../support/manual-clock.ts';
import { createReferenceVerifier } from '../support/reference-verifier.ts';
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

/** A lookupMany answering each hash on its own (what the cases below need), recording every query. */
function perHash(answer: (hash: string) => Promise<VerificationRow | undefined>) {
  const queries: string[][] = [];
  const lookupMany = async (hashes: readonly string[]) => {
    queries.push([...hashes]);
    const rows: VerificationRowByHash[] = [];
    for (const hash of hashes) {
      const found = await answer(hash);
      if (found) rows.push({ ...found, hash });
    }
    return rows;
  };
  return Object.assign(lookupMany, { queries });
}

describe('verify cache', () => {
  it('never grows past its bound, positive or negative', async () => {
    const cache = createVerifyCache({
      lookupMany: perHash(async (hash) => (hash.endsWith('0') ? undefined : row())),
      clock: manualClock(),
      maxEntries: 50,
      ttlMs: 60_000,
      negativeMaxEntries: 10,
    });
    for (let i = 0; i < 2_000; i++) await cache.verify(token());
    expect(cache.size).toBeLessThanOrEqual(60);
    expect(cache.size).toBeGreaterThan(0);
  });

  it('keeps the secrets in use when a flood of new ones fills it, and evicts the rest first', async () => {
    const lookupMany = perHash(async () => row());
    const cache = createVerifyCache({ lookupMany, clock: manualClock(), maxEntries: 20, ttlMs: 60_000 });
    const inUse = Array.from({ length: 5 }, token);
    for (const t of inUse) await cache.verify(t);
    for (let i = 0; i < 500; i++) {
      await cache.verify(token());
      // Each secret in use is presented again before the next new one: none of them is ever evicted.
      for (const t of inUse) expect(cache.verifyNow(t)).toMatchObject({ valid: true });
    }
    expect(cache.size).toBe(20);
    expect(lookupMany.queries).toHaveLength(inUse.length + 500);
  });

  it('answers MALFORMED without a database query and without caching anything', async () => {
    let lookups = 0;
    const cache = createVerifyCache({
      lookupMany: perHash(async () => {
        lookups++;
        return row();
      }),
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

  it('still answers MALFORMED for a near miss of a cached key, and caches nothing for it', async () => {
    const cache = createVerifyCache({
      lookupMany: perHash(async () => row()),
      clock: manualClock(),
      maxEntries: 10,
      ttlMs: 60_000,
    });
    const good = token();
    expect(await cache.verify(good)).toMatchObject({ valid: true });
    const typo = `${good.slice(0, -1)}${good.endsWith('A') ? 'B' : 'A'}`;
    expect(cache.verifyNow(typo)).toEqual({ valid: false, code: 'MALFORMED' });
    expect(await cache.verify(typo)).toEqual({ valid: false, code: 'MALFORMED' });
    expect(await cache.verify(`${good}x`)).toEqual({ valid: false, code: 'MALFORMED' });
    expect(await cache.verify('x'.repeat(10_000))).toEqual({ valid: false, code: 'MALFORMED' });
    expect(cache.size).toBe(1);
  });

  it('answers each token by its own hash, whatever verifyNow was last asked', async () => {
    const known = token();
    const lookupMany = perHash(async (hash) => (hash === hashToken(known) ? row() : undefined));
    const cache = createVerifyCache({ lookupMany, clock: manualClock(), maxEntries: 10, ttlMs: 60_000 });
    expect(cache.verifyNow(known)).toBeUndefined(); // a miss: the route would now call verify(known)
    expect(await cache.verify(token())).toEqual({ valid: false, code: 'NOT_FOUND' });
    expect(await cache.verify(known)).toMatchObject({ valid: true });
    expect(cache.verifyNow(token())).toBeUndefined();
    expect(await cache.verify(known)).toMatchObject({ valid: true });
  });

  it('caches NOT_FOUND briefly, so a repeated unknown key costs one query', async () => {
    let lookups = 0;
    const cache = createVerifyCache({
      lookupMany: perHash(async () => {
        lookups++;
        return undefined;
      }),
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
      lookupMany: perHash(async () => row(new Date('2026-01-15T10:00:01.000Z'))),
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
      lookupMany: perHash((): Promise<VerificationRow> => {
        lookups++;
        return lookups === 1 ? new Promise((r) => (release = r)) : Promise.resolve(row(new Date(0)));
      }),
      clock: manualClock(),
      maxEntries: 10,
      ttlMs: 60_000,
    });
    const t = token();
    const pending = cache.verify(t);
    await new Promise((r) => setImmediate(r)); // the turn ended: the miss's query has started
    expect(lookups).toBe(1);
    cache.invalidate([]); // any invalidation bumps the epoch
    release(row());
    await pending;
    expect(await cache.verify(t)).toEqual({ valid: false, code: 'EXPIRED' });
    expect(lookups).toBe(2);
  });

  it('drops every cached secret of a key when its name, products or deletion change, and only those', async () => {
    const [current, grace, otherKey] = [token(), token(), token()];
    const rows = new Map<string, VerificationRow>([
      [hashToken(current), { ...row(), keyId: 'k1', name: 'old' }],
      [hashToken(grace), { ...row(new Date(Date.parse('2026-01-01T01:00:00Z'))), keyId: 'k1', name: 'old' }],
      [hashToken(otherKey), { ...row(), keyId: 'k2', name: 'other' }],
    ]);
    const lookupMany = perHash(async (hash) => rows.get(hash));
    const cache = createVerifyCache({
      lookupMany,
      clock: manualClock('2026-01-01T00:00:00Z'),
      maxEntries: 10,
      ttlMs: 60_000,
    });
    for (const t of [current, grace, otherKey]) await cache.verify(t);
    expect(lookupMany.queries).toHaveLength(3);
    for (const [hash, found] of rows) if (found.keyId === 'k1') rows.set(hash, { ...found, name: 'new' });

    cache.invalidateKeys(['k1']);
    expect(await cache.verify(current)).toMatchObject({ name: 'new', status: 'active' });
    expect(await cache.verify(grace)).toMatchObject({ name: 'new', status: 'expiring' });
    expect(await cache.verify(otherKey)).toMatchObject({ name: 'other' });
    // The other key's secret was still a hit; the changed key's two secrets were looked up again.
    expect(lookupMany.queries).toHaveLength(5);
  });

  it('keeps serving hits while the database is down, fails misses without a lookup for failFastMs, then tries again', async () => {
    let down = false;
    let outages = 0;
    const lookupMany = perHash(async () => {
      if (down) throw new Error('connection refused');
      return row();
    });
    const cache = createVerifyCache({
      lookupMany,
      clock: manualClock(),
      maxEntries: 10,
      ttlMs: 60_000,
      failFastMs: 300,
      onUnavailable: () => outages++,
    });
    const known = token();
    expect(await cache.verify(known)).toMatchObject({ valid: true });
    down = true;
    expect(await cache.verify(known)).toMatchObject({ valid: true });
    await expect(cache.verify(token())).rejects.toMatchObject({ code: 'DATABASE_UNAVAILABLE' });
    const failedAt = performance.now();
    const lookupsAtFailure = lookupMany.queries.length;
    // Within the window: misses get the error at once, and the database is not asked.
    for (let i = 0; i < 5; i++) {
      await expect(cache.verify(token())).rejects.toMatchObject({ code: 'DATABASE_UNAVAILABLE' });
    }
    expect(performance.now() - failedAt).toBeLessThan(300); // still within it, or the count below means nothing
    expect(lookupMany.queries).toHaveLength(lookupsAtFailure);
    expect(outages).toBe(1);
    // After it: the next miss is looked up again (and fails again while the database is down)…
    await new Promise((r) => setTimeout(r, 320));
    await expect(cache.verify(token())).rejects.toMatchObject({ code: 'DATABASE_UNAVAILABLE' });
    expect(lookupMany.queries).toHaveLength(lookupsAtFailure + 1);
    // …and once the database is back, the first miss after the window is answered.
    down = false;
    await new Promise((r) => setTimeout(r, 320));
    expect(await cache.verify(token())).toMatchObject({ valid: true });
    expect(outages).toBe(1);
  });

  it('looks up a burst of unseen keys with one query, and each request gets its own verdict', async () => {
    const known = new Set<string>();
    const lookupMany = perHash(async (hash) => (known.has(hash) ? row() : undefined));
    const cache = createVerifyCache({ lookupMany, clock: manualClock(), maxEntries: 100, ttlMs: 60_000 });
    const tokens = Array.from({ length: 40 }, token);
    for (const t of tokens.slice(0, 20)) known.add(hashToken(t));
    // The same unseen key twice in the burst shares the query's answer instead of being asked twice.
    const answers = await Promise.all([...tokens, tokens[0]!, tokens[39]!].map((t) => cache.verify(t)));
    expect(lookupMany.queries).toHaveLength(1);
    expect(lookupMany.queries[0]).toHaveLength(40);
    expect(answers.slice(0, 20).every((a) => a.valid)).toBe(true);
    expect(answers.slice(20, 40)).toEqual(Array(20).fill({ valid: false, code: 'NOT_FOUND' }));
    expect(answers.slice(40)).toEqual([answers[0], answers[39]]);
    // All of them are cached now: the next burst asks nothing.
    await Promise.all(tokens.map((t) => cache.verify(t)));
    expect(lookupMany.queries).toHaveLength(1);
  });

  it('fails every request of a burst whose query fails, and answers the next burst normally', async () => {
    let down = true;
    const cache = createVerifyCache({
      lookupMany: perHash(async () => {
        if (down) throw new Error('connection reset');
        return row();
      }),
      clock: manualClock(),
      maxEntries: 100,
      ttlMs: 60_000,
      failFastMs: 0,
    });
    const burst = await Promise.allSettled(Array.from({ length: 5 }, () => cache.verify(token())));
    expect(burst.map((r) => r.status)).toEqual(Array(5).fill('rejected'));
    down = false;
    expect(await Promise.all([cache.verify(token()), cache.verify(token())])).toMatchObject([
      { valid: true },
      { valid: true },
    ]);
  });

  it('gives up on a lookup that hangs instead of queueing behind it', async () => {
    let lookups = 0;
    const cache = createVerifyCache({
      // The first query never answers; every later one does.
      lookupMany: (hashes) => {
        lookups++;
        if (lookups === 1) return new Promise(() => {});
        return Promise.resolve(hashes.map((hash) => ({ ...row(), hash })));
      },
      clock: manualClock(),
      maxEntries: 10,
      ttlMs: 60_000,
      lookupTimeoutMs: 500,
    });
    const started = performance.now();
    let firstSettled = false;
    const first = cache.verify(token()).finally(() => {
      firstSettled = true;
    });
    first.catch(() => {});
    await new Promise((r) => setTimeout(r, 20));
    // Asked while the first lookup hangs: answered on its own, long before the first gives up.
    expect(await cache.verify(token())).toMatchObject({ valid: true });
    expect(firstSettled).toBe(false);
    expect(lookups).toBe(2);
    await expect(first).rejects.toMatchObject({ code: 'DATABASE_UNAVAILABLE' });
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});

describe('verify cache with the filter of live secrets', () => {
  /** A filter that answers `said` for every key (live-secret-filter.ts decides what it says). */
  const saying = (said: FilterAnswer) => ({
    check: () => said,
    checkKnownAbsent: () => (said === 'maybe' ? 'confirm' : said),
  });

  it('answers a key the filter rules out in a flood NOT_FOUND at once, with no lookup and nothing cached', async () => {
    const lookupMany = perHash(async () => row());
    let filterAnswers = 0;
    const cache = createVerifyCache({
      lookupMany,
      clock: manualClock(),
      maxEntries: 10,
      ttlMs: 60_000,
      liveSecrets: saying('absent'),
      onFilterAnswer: () => filterAnswers++,
    });
    const unknown = token();
    expect(cache.verifyNow(unknown)).toEqual({ valid: false, code: 'NOT_FOUND' });
    expect(await cache.verify(token())).toEqual({ valid: false, code: 'NOT_FOUND' });
    // Malformed keys are still MALFORMED: the checksum comes first.
    expect(cache.verifyNow(`${unknown.slice(0, -1)}${unknown.endsWith('A') ? 'B' : 'A'}`)).toEqual({
      valid: false,
      code: 'MALFORMED',
    });
    expect(lookupMany.queries).toHaveLength(0);
    expect(filterAnswers).toBe(2);
    expect(cache.size).toBe(0);
  });

  it('records every try of a canary, first time or cached, even when the filter alone answers it', async () => {
    const canary = token();
    const canaryDigest = Buffer.from(hashToken(canary), 'hex').toString('latin1');
    const tripped: string[] = [];
    const cache = createVerifyCache({
      lookupMany: perHash(async () => undefined),
      clock: manualClock(),
      maxEntries: 10,
      ttlMs: 60_000,
      liveSecrets: saying('absent'),
      canaries: {
        trip: (digest, asker) => {
          if (digest !== canaryDigest) return false;
          tripped.push(String(asker));
          return true;
        },
      },
    });
    expect(cache.verifyNow(canary, null, null, 'first')).toEqual({ valid: false, code: 'NOT_FOUND' });
    expect(await cache.verify(canary, null, null, 'second')).toEqual({ valid: false, code: 'NOT_FOUND' });
    expect(cache.verifyNow(token(), null, null, 'not a canary')).toEqual({ valid: false, code: 'NOT_FOUND' });
    expect(tripped).toEqual(['first', 'second']);
  });

  it('looks up every key the filter cannot rule out alone, and counts its false "maybe"s', async () => {
    const known = token();
    const lookupMany = perHash(async (hash) => (hash === hashToken(known) ? row() : undefined));
    for (const said of ['untrusted', 'maybe', 'confirm'] as const) {
      let falseMaybes = 0;
      const cache = createVerifyCache({
        lookupMany,
        clock: manualClock(),
        maxEntries: 10,
        ttlMs: 60_000,
        liveSecrets: saying(said),
        onFalseMaybe: () => falseMaybes++,
      });
      const before = lookupMany.queries.length;
      expect(cache.verifyNow(known)).toBeUndefined();
      expect(await cache.verify(known)).toMatchObject({ valid: true });
      expect(await cache.verify(token())).toEqual({ valid: false, code: 'NOT_FOUND' });
      expect(lookupMany.queries.length - before, said).toBe(2);
      expect(falseMaybes, said).toBe(said === 'maybe' ? 1 : 0);
    }
  });
});

describe('verify cache against the database', () => {
  it('walks a key through active → expiring → expired and never answers differently from the database', async () => {
    const clock = manualClock('2026-03-01T12:00:00.000Z');
    const services = testServices(database, { clock });
    const cache = createVerifyCache({
      lookupMany: prepareVerificationLookupMany(database.db),
      clock,
      maxEntries: 100,
      ttlMs: 3_600_000,
    });
    connectVerifyInvalidation(services.changes, cache);
    const uncached = createReferenceVerifier({ db: database.db, clock });
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

  it('answers a burst of unseen keys in one query exactly as the uncached verifier would', async () => {
    const services = testServices(database);
    const queried = prepareVerificationLookupMany(database.db);
    let queries = 0;
    const cache = createVerifyCache({
      lookupMany: (hashes) => {
        queries++;
        return queried(hashes);
      },
      clock: services.clock,
      maxEntries: 100,
      ttlMs: 3_600_000,
    });
    const uncached = createReferenceVerifier({ db: database.db, clock: services.clock });
    const active = await createTestKey(services);
    const rotated = await createTestKey(services);
    const graceful = await rotateTestKey(services, { id: rotated.key.id }, '24h');
    const cut = await createTestKey(services);
    await rotateTestKey(services, { id: cut.key.id }, 'now');
    const deleted = await createTestKey(services);
    await services.deleteKey({ key: { id: deleted.key.id }, actor: cliActor });
    const tokens = [active.token, rotated.token, graceful.token, cut.token, deleted.token, token()];

    const burst = await Promise.all(tokens.map((t) => cache.verify(t)));
    expect(queries).toBe(1);
    const expected = [];
    for (const t of tokens) expected.push(await uncached(t));
    expect(burst).toEqual(expected);
    expect(burst.map((a) => (a.valid ? a.status : a.code))).toEqual([
      'active',
      'expiring',
      'active',
      'EXPIRED',
      'NOT_FOUND',
      'NOT_FOUND',
    ]);
  });

  it('an immediate rotation takes effect at once on the process that made it', async () => {
    const services = testServices(database);
    const cache = createVerifyCache({
      lookupMany: prepareVerificationLookupMany(database.db),
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

describe('verify cache: counting each verification of a known secret', () => {
  const counted = (usage: UsageCounter) =>
    Object.fromEntries(usage.drain().map((c) => [c.secretId, { uses: c.uses, expired: c.expiredUses }]));

  it('counts the first answer, every cache hit after it and the EXPIRED answers, each toward its own secret', async () => {
    const clock = manualClock('2026-01-15T10:00:00.000Z');
    const [current, old] = [token(), token()];
    const rows = new Map<string, VerificationRow>([
      [hashToken(current), { ...row(), secretId: 'current' }],
      [hashToken(old), { ...row(new Date('2026-01-15T10:00:05.000Z')), secretId: 'old' }],
    ]);
    const lookupMany = perHash(async (hash) => rows.get(hash));
    const usage = new UsageCounter();
    const cache = createVerifyCache({ lookupMany, clock, maxEntries: 10, ttlMs: 60_000, usage });
    for (let i = 0; i < 3; i++) expect(await cache.verify(current)).toMatchObject({ valid: true });
    expect(await cache.verify(old)).toMatchObject({ valid: true, status: 'expiring' });
    // The hot path: a hit answered synchronously, as the verify route serves most requests.
    expect(cache.verifyNow(old)).toMatchObject({ valid: true, status: 'expiring' });
    clock.advance(5_000);
    for (let i = 0; i < 4; i++) expect(await cache.verify(old)).toEqual({ valid: false, code: 'EXPIRED' });
    expect(cache.verifyNow(current)).toMatchObject({ valid: true });
    expect(lookupMany.queries).toHaveLength(2);
    expect(counted(usage)).toEqual({ current: { uses: 4, expired: 0 }, old: { uses: 6, expired: 4 } });
  });

  it('counts MALFORMED and NOT_FOUND nowhere, cached or not', async () => {
    const known = token();
    const usage = new UsageCounter();
    const cache = createVerifyCache({
      lookupMany: perHash(async (hash) =>
        hash === hashToken(known) ? { ...row(), secretId: 'known' } : undefined,
      ),
      clock: manualClock(),
      maxEntries: 10,
      ttlMs: 60_000,
      usage,
    });
    const unknown = token();
    const typo = `${known.slice(0, -1)}${known.endsWith('A') ? 'B' : 'A'}`;
    for (let i = 0; i < 3; i++) {
      expect(await cache.verify(unknown)).toEqual({ valid: false, code: 'NOT_FOUND' });
      expect(cache.verifyNow(unknown)).toEqual({ valid: false, code: 'NOT_FOUND' });
      expect(await cache.verify(typo)).toEqual({ valid: false, code: 'MALFORMED' });
      expect(await cache.verify('rk_live_short')).toEqual({ valid: false, code: 'MALFORMED' });
    }
    expect(usage.pending).toBe(0);
    expect(await cache.verify(known)).toMatchObject({ valid: true });
    expect(counted(usage)).toEqual({ known: { uses: 1, expired: 0 } });
  });

  it('keeps counting a secret whose entry was dropped and cached again, adding both entries’ counts', async () => {
    const t = token();
    const usage = new UsageCounter();
    const lookupMany = perHash(async () => ({ ...row(), secretId: 'again' }));
    const cache = createVerifyCache({
      lookupMany,
      clock: manualClock(),
      maxEntries: 10,
      ttlMs: 60_000,
      usage,
    });
    for (let i = 0; i < 3; i++) await cache.verify(t);
    cache.invalidate([hashToken(t)]);
    for (let i = 0; i < 2; i++) await cache.verify(t);
    cache.clear();
    await cache.verify(t);
    expect(lookupMany.queries).toHaveLength(3);
    expect(counted(usage)).toEqual({ again: { uses: 6, expired: 0 } });
  });

  it('counts a burst of concurrent first verifications of one secret once each', async () => {
    const t = token();
    const usage = new UsageCounter();
    const lookupMany = perHash(async () => ({ ...row(), secretId: 'burst' }));
    const cache = createVerifyCache({
      lookupMany,
      clock: manualClock(),
      maxEntries: 10,
      ttlMs: 60_000,
      usage,
    });
    await Promise.all(Array.from({ length: 7 }, () => cache.verify(t)));
    expect(lookupMany.queries).toHaveLength(1);
    expect(counted(usage)).toEqual({ burst: { uses: 7, expired: 0 } });
  });
});
