import { hash as oneShotHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock.ts';
import { AppError } from '../errors.ts';
import { hashToken } from '../keys/hash.ts';
import { isWellFormedToken } from '../keys/token.ts';
import type { VerifyResult } from '../keys/verification.ts';
import type { VerificationRow, VerificationRowByHash } from '../store/secrets-store.ts';
import { batchPerTurn } from './batch-per-turn.ts';
import type { Verifier } from './verify-key.ts';

/**
 * Verdicts are frozen singletons or frozen per cache entry, so an adapter may memoise their
 * serialisation by identity (the verify route does).
 */
const MALFORMED: VerifyResult = Object.freeze({ valid: false, code: 'MALFORMED' });
const NOT_FOUND: VerifyResult = Object.freeze({ valid: false, code: 'NOT_FOUND' });
const EXPIRED: VerifyResult = Object.freeze({ valid: false, code: 'EXPIRED' });

/**
 * What the cache keeps about a secret: never a verdict on its own, but the facts to re-decide one.
 * `expiresAtMs` is checked against the clock on every hit, so a cached entry cannot say valid:true
 * one millisecond past expiry, however young the entry is.
 */
interface Entry {
  /** null: the hash belongs to no live key (NOT_FOUND); such entries live in the small negative cache. */
  expiresAtMs: number | null;
  /** The valid answer for this secret while it has not expired (frozen, reused on every hit). */
  valid: VerifyResult;
}

export interface VerifyCacheOptions {
  /**
   * The cold path: one prepared, indexed query for the misses of one event-loop turn
   * (secrets-store prepareVerificationLookupMany); hashes with no row are left out of the answer.
   */
  lookupMany: (hashes: readonly string[]) => Promise<readonly VerificationRowByHash[]>;
  clock: Clock;
  /** REKEY_CACHE_SIZE: bound of the positive cache (entries). */
  maxEntries: number;
  /** REKEY_CACHE_TTL: maximum age of any entry, in ms (the fallback when invalidations are lost). */
  ttlMs: number;
  /** NOT_FOUND answers: a separate, smaller bound and a short life, so random-key floods stay cheap. */
  negativeMaxEntries?: number;
  negativeTtlMs?: number;
  /** A miss waiting longer than this on the database fails (503) instead of queueing behind it. */
  lookupTimeoutMs?: number;
  /** After a database failure, misses fail at once for this long instead of piling onto a dead server. */
  failFastMs?: number;
  /** Metrics hooks, kept as plain callbacks so this service knows nothing about prom-client. */
  onHit?: () => void;
  onMiss?: () => void;
  onSizeChange?: (entries: number) => void;
  /** Called once per failure streak (not per request): the database stopped answering. */
  onUnavailable?: (error: unknown) => void;
}

export interface VerifyCache {
  verify: Verifier;
  /**
   * The synchronous hot path: the verdict when it needs no database (malformed, or a cache hit),
   * otherwise `undefined` — then call `verify`. Lets the HTTP route answer a hit without a promise.
   */
  verifyNow(token: unknown): VerifyResult | undefined;
  /** Drops the cached verdicts of these secret hashes. Takes effect for every later request. */
  invalidate(hashes: readonly string[]): void;
  /** Drops everything (after missed invalidations, e.g. the channel reconnected). */
  clear(): void;
  readonly size: number;
}

/** SHA-256 hex like hashToken, through the one-shot API where the runtime has it (cheaper per call). */
const sha256Hex: (token: string) => string =
  typeof oneShotHash === 'function' ? (token) => oneShotHash('sha256', token, 'hex') : hashToken;

function toEntry(row: VerificationRow | undefined): Entry | null {
  if (!row || row.deletedAt !== null) return null;
  return {
    expiresAtMs: row.expiresAt ? row.expiresAt.getTime() : null,
    valid: Object.freeze({
      valid: true,
      keyId: row.keyId,
      name: row.name,
      products: Object.freeze([...row.products]) as string[],
      status: row.expiresAt ? 'expiring' : 'active',
      expiresAt: row.expiresAt ? row.expiresAt.toISOString() : null,
    }),
  };
}

/** The same rule as decideVerification (DESIGN §4), on cached facts: expiry at or before now is EXPIRED. */
function decide(entry: Entry, nowMs: number): VerifyResult {
  if (entry.expiresAtMs !== null && entry.expiresAtMs <= nowMs) return EXPIRED;
  return entry.valid;
}

const NEGATIVE: Entry = Object.freeze({ expiresAtMs: null, valid: NOT_FOUND });

/** No well-formed token is longer (isWellFormedToken's own bound): longer input is not even hashed. */
const MAX_TOKEN_LENGTH = 200;

/**
 * The verify path with an in-process cache keyed by secret hash (issue 5). Correctness rules:
 * - MALFORMED never reaches the database and is never cached (a hit is answered before the checksum
 *   is read, because only well-formed tokens' hashes are ever stored);
 * - every hit is re-decided against the clock from the cached `expires_at`;
 * - a lookup that started before an invalidation never writes its (possibly stale) answer back;
 * - a database failure is thrown (503 upstream), never turned into a verdict.
 */
export function createVerifyCache(options: VerifyCacheOptions): VerifyCache {
  const { lookupMany, clock } = options;
  // ttlResolution 0: read the clock on each get instead of arming a timer every millisecond to
  // refresh a cached one (a timer per ms is more work than a performance.now() per request).
  const positive = new LRUCache<string, Entry>({
    max: options.maxEntries,
    ttl: options.ttlMs,
    ttlResolution: 0,
  });
  const negative = new LRUCache<string, Entry>({
    max: options.negativeMaxEntries ?? Math.max(1, Math.min(10_000, options.maxEntries)),
    ttl: options.negativeTtlMs ?? Math.min(options.ttlMs, 2_000),
    ttlResolution: 0,
  });
  const lookupTimeoutMs = options.lookupTimeoutMs ?? 1_500;
  const failFastMs = options.failFastMs ?? 1_000;
  /** Bumped by every invalidation; a lookup only caches its answer if no invalidation happened meanwhile. */
  let epoch = 0;
  /** Concurrent misses on one hash share one query (a hot key's first second after a restart). */
  const inFlight = new Map<string, Promise<Entry | null>>();
  let failingUntil = 0;
  let failing = false;

  const reportSize = () => options.onSizeChange?.(positive.size + negative.size);

  const unavailable = (cause: unknown) =>
    new AppError('DATABASE_UNAVAILABLE', 'the key store did not answer', { retryable: true, cause });

  const withTimeout = <T>(promise: Promise<T>) => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`lookup took over ${lookupTimeoutMs} ms`)), lookupTimeoutMs);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  };

  /** The misses of one turn share one query and one timeout; each gets its own row back (or none). */
  const lookup = batchPerTurn(async (hashes: readonly string[]) => {
    const rows = await withTimeout(lookupMany(hashes));
    const byHash = new Map<string, VerificationRow>();
    for (const row of rows) byHash.set(row.hash, row);
    return hashes.map((hash) => byHash.get(hash));
  });

  const load = async (hash: string): Promise<Entry | null> => {
    if (failing && performance.now() < failingUntil) throw unavailable(new Error('recent database failure'));
    // Taken when the miss is queued, before its query starts: an invalidation at any point after this
    // keeps the answer from being cached (the answer itself is still as fresh as the query).
    const startedEpoch = epoch;
    let row: VerificationRow | undefined;
    try {
      row = await lookup(hash);
    } catch (error) {
      if (!failing) options.onUnavailable?.(error);
      failing = true;
      failingUntil = performance.now() + failFastMs;
      throw unavailable(error);
    }
    failing = false;
    const entry = toEntry(row);
    if (startedEpoch === epoch) {
      if (entry) positive.set(hash, entry);
      else negative.set(hash, NEGATIVE);
      reportSize();
    }
    return entry;
  };

  const miss = (hash: string): Promise<Entry | null> => {
    let pending = inFlight.get(hash);
    if (!pending) {
      pending = load(hash).finally(() => {
        if (inFlight.get(hash) === pending) inFlight.delete(hash);
      });
      inFlight.set(hash, pending);
    }
    return pending;
  };

  const nowMs = clock.nowMs ? () => clock.nowMs!() : () => clock.now().getTime();

  /**
   * The well-formed token verifyNow last found missing, and its hash: the verify route calls `verify`
   * for that token right after, in the same tick, and it should not hash and probe it twice.
   */
  let lastMissToken: string | undefined;
  let lastMissHash = '';

  const verifyNow = (token: unknown): VerifyResult | undefined => {
    // Only shape bounds before hashing; the checksum is checked on a miss. A hit needs no checksum:
    // only hashes of tokens that passed it are ever stored, so finding the hash proves the token
    // well-formed (barring a SHA-256 collision). That saves the checksum on most requests, and a
    // MALFORMED token still never reaches the database nor gets an entry of its own.
    if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) return MALFORMED;
    const hash = sha256Hex(token);
    const hit = positive.get(hash) ?? negative.get(hash);
    if (hit) {
      options.onHit?.();
      return decide(hit, nowMs());
    }
    if (!isWellFormedToken(token)) return MALFORMED;
    lastMissToken = token;
    lastMissHash = hash;
    return undefined;
  };

  const verify: Verifier = async (token) => {
    // The verify route asks verifyNow first: a miss it has just seen is not hashed and probed again.
    // (Were the memo ever stale, the lookup below would still give the right answer.)
    if (lastMissToken === undefined || token !== lastMissToken) {
      const now = verifyNow(token);
      if (now) return now;
    }
    const hash = lastMissHash;
    lastMissToken = undefined;
    options.onMiss?.();
    const entry = await miss(hash);
    // Decided after the lookup, with the clock read now: the same rule as a hit.
    return entry ? decide(entry, nowMs()) : NOT_FOUND;
  };

  return {
    verify,
    verifyNow,
    invalidate(hashes) {
      epoch++;
      for (const hash of hashes) {
        positive.delete(hash);
        negative.delete(hash);
        // A request arriving after the change must not join a lookup that may have read the old row.
        inFlight.delete(hash);
      }
      reportSize();
    },
    clear() {
      epoch++;
      positive.clear();
      negative.clear();
      inFlight.clear();
      reportSize();
    },
    get size() {
      return positive.size + negative.size;
    },
  };
}
