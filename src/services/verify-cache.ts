import { hash as oneShotHash } from 'node:crypto';
import type { Clock } from '../clock.ts';
import { hashToken } from '../keys/hash.ts';
import { isWellFormedToken } from '../keys/token.ts';
import {
  decideVerification,
  EXPIRED,
  MALFORMED,
  NOT_FOUND,
  type VerifyResult,
} from '../keys/verification.ts';
import type { CanaryCheck } from './canary-watch.ts';
import type { LiveSecretFilter } from './live-secret-filter.ts';
import type { UsageCounter } from './usage-counter.ts';
import { createVerdictLoader, type VerdictLoaderOptions } from './verdict-loader.ts';
import { type CountedFacts, createVerdictStore, type VerdictStoreOptions } from './verdict-store.ts';

/**
 * Verifies a key string. `ip` and `userAgent`: who presented it, as the gateway passed them (absent or
 * null: unknown), for the usage counter's client tally; they never change the verdict. `asker`: what the
 * adapter knows of the request (the HTTP routes pass it); opaque here, read only if the key is a canary,
 * to describe the try in its alarm.
 */
export type Verifier = (
  token: unknown,
  ip?: string | null,
  userAgent?: string | null,
  asker?: unknown,
) => Promise<VerifyResult>;

export interface VerifyCacheOptions extends VerdictStoreOptions, Omit<VerdictLoaderOptions, 'store'> {
  clock: Clock;
  /** Metrics hooks, kept as plain callbacks so this service knows nothing about prom-client. */
  onHit?: () => void;
  onMiss?: () => void;
  /**
   * Counts every verdict on a known secret (valid or EXPIRED) in the secret's slot; MALFORMED and
   * NOT_FOUND count nowhere. Without it nothing is counted (the CLI's short-lived verifier).
   */
  usage?: UsageCounter;
  /** The canaries (canary-watch.ts): answered NOT_FOUND like any unknown key, and their tries recorded. */
  canaries?: CanaryCheck;
  /**
   * The membership filter of live keys' secrets (live-secret-filter.ts): a well-formed key it rules out
   * is answered NOT_FOUND with no lookup. Without it (the CLI) every miss is looked up.
   */
  liveSecrets?: Pick<LiveSecretFilter, 'check' | 'checkKnownAbsent'>;
  /** NOT_FOUND answered by the filter alone, with no lookup. */
  onFilterAnswer?: () => void;
  /** The filter let a key through ("maybe") and the lookup found no live secret. */
  onFalseMaybe?: () => void;
}

export interface VerifyCache {
  verify: Verifier;
  /**
   * The synchronous hot path: the verdict when it needs no database (malformed, or a cache hit),
   * otherwise `undefined` — then call `verify`. Lets the HTTP route answer a hit without a promise.
   */
  verifyNow(
    token: unknown,
    ip?: string | null,
    userAgent?: string | null,
    asker?: unknown,
  ): VerifyResult | undefined;
  /** Drops the cached verdicts of these secret hashes (hex). Takes effect for every later request. */
  invalidate(hashes: readonly string[]): void;
  /** Drops the cached verdicts of every secret of these keys (their name, products or deletion changed). */
  invalidateKeys(keyIds: readonly string[]): void;
  /** Drops everything (after missed invalidations, e.g. the channel reconnected). */
  clear(): void;
  readonly size: number;
}

/**
 * A secret's SHA-256 as a 32-character latin1 string (one character per byte): what a miss looks up,
 * as hex (`hexOf`), in the database, which always compares the full hash.
 */
const digestOf: (token: string) => string =
  typeof oneShotHash === 'function'
    ? (token) => oneShotHash('sha256', token, 'binary')
    : (token) => Buffer.from(hashToken(token), 'hex').toString('latin1');
const hexOf = (digest: string) => Buffer.from(digest, 'latin1').toString('hex');

/**
 * The cache keys a secret by the first 128 bits of its SHA-256 (16 of the digest's bytes, held in the
 * table's own arrays: digest-table.ts), not all 256 nor the hex the database stores. Safe to truncate: an
 * entry is only ever made from a database row found by the FULL hash, so a different token is answered
 * from that entry only if its SHA-256 agrees on those 128 bits, a second preimage of a secret hash the
 * caller does not even know (about 2^128 hashes: out of reach, as for the full hash). Two real secrets
 * sharing a prefix by chance is a birthday bound of n²/2^129: about 10^-29 for 10^5 cached secrets.
 */
const digestOfHex = (hash: string) => Buffer.from(hash, 'hex').toString('latin1');

/** No well-formed token is longer (isWellFormedToken's own bound): longer input is not even hashed. */
const MAX_TOKEN_LENGTH = 200;

/**
 * The verifier: the one verification rule (keys/verification) over an in-process cache keyed by
 * secret hash, in front of a batching loader. Correctness rules:
 * - MALFORMED never reaches the database and is never cached (a hit is answered before the checksum
 *   is read, because only well-formed tokens' hashes are ever stored);
 * - NOT_FOUND without a lookup only when the live-secret filter rules the key out in a flood
 *   (`answeredWithoutLookup`);
 * - every hit is re-decided against the clock from the cached expiry;
 * - a lookup that started before an invalidation never writes its (possibly stale) answer back;
 * - a database failure is thrown (503 upstream), never turned into a verdict.
 */
export function createVerifyCache(options: VerifyCacheOptions): VerifyCache {
  const { clock } = options;
  const store = createVerdictStore(options);
  const loader = createVerdictLoader({ ...options, store });
  const nowMs = clock.nowMs ? () => clock.nowMs!() : () => clock.now().getTime();

  const { usage } = options;
  /**
   * Every verdict on a secret the database knows passes here, from a hit or a lookup, valid or not,
   * so this is the one place it is counted: a few field writes in its slot, nothing else.
   */
  const answer = (secret: CountedFacts, ip?: string | null, userAgent?: string | null): VerifyResult => {
    const now = nowMs();
    const verdict = decideVerification(secret, now);
    if (usage !== undefined) usage.record(secret, now, verdict === EXPIRED, ip ?? null, userAgent ?? null);
    return verdict;
  };

  /**
   * The well-formed token verifyNow last found missing, and its digest: the verify route calls `verify`
   * for that token right after, in the same tick, and it should not hash and probe it twice.
   */
  let lastMissToken: string | undefined;
  let lastMissDigest = '';
  /** The filter said "maybe" of that miss: a NOT_FOUND from its lookup is a false "maybe". */
  let lastMissMaybe = false;

  const { liveSecrets } = options;
  /**
   * The one place a well-formed key that is not cached can be answered without the database: the
   * filter of live keys' secrets (live-secret-filter.ts) rules it out, and such keys are arriving too
   * fast to look each up (`absent`), so the answer is NOT_FOUND. Never a wrong "no": while they are
   * rare, ruled-out keys are looked up all the same.
   *
   * `knownAbsent`: the key is known by other means to have no live secret — a canary, whose check goes
   * right before this call (its use must raise an alarm, and it is never in the filter). It then gets
   * exactly the answer a key the filter rules out gets, lookup or not, so the two are told apart
   * neither by their answer nor by its timing.
   */
  const answeredWithoutLookup = (digest: string, knownAbsent = false): boolean => {
    const said = knownAbsent ? liveSecrets?.checkKnownAbsent() : liveSecrets?.check(digest);
    lastMissMaybe = said === 'maybe';
    if (said !== 'absent') return false;
    options.onFilterAnswer?.();
    return true;
  };

  const { canaries } = options;

  const verifyNow = (
    token: unknown,
    ip?: string | null,
    userAgent?: string | null,
    asker?: unknown,
  ): VerifyResult | undefined => {
    // Only shape bounds before hashing; the checksum is checked on a miss. A hit needs no checksum:
    // only hashes of tokens that passed it are ever stored, so finding the hash proves the token
    // well-formed (barring a SHA-256 collision). That saves the checksum on most requests, and a
    // MALFORMED token still never reaches the database nor gets an entry of its own.
    if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) return MALFORMED;
    const digest = digestOf(token);
    const cached = store.get(digest);
    if (cached !== undefined) {
      options.onHit?.();
      if (cached) return answer(cached, ip, userAgent);
      // A canary looked up once (as unknown keys are, within the allowance) is cached as unknown: its
      // later tries are still tries.
      canaries?.trip(digest, asker, ip, userAgent);
      return NOT_FOUND;
    }
    if (!isWellFormedToken(token)) return MALFORMED;
    // A canary is a well-formed key this replica knows is never valid: its try is recorded, and it is
    // answered exactly as a key the filter rules out, from the same allowance of lookups, so neither its
    // answer nor its timing tells it apart (docs/architecture.md#canary-keys).
    const canary = canaries?.trip(digest, asker, ip, userAgent) === true;
    if (answeredWithoutLookup(digest, canary)) return NOT_FOUND;
    lastMissToken = token;
    lastMissDigest = digest;
    return undefined;
  };

  const verify: Verifier = async (token, ip, userAgent, asker) => {
    // The verify route asks verifyNow first: a miss it has just seen is not hashed and probed again.
    // (Were the memo ever stale, the lookup below would still give the right answer.)
    if (lastMissToken === undefined || token !== lastMissToken) {
      const now = verifyNow(token, ip, userAgent, asker);
      if (now) return now;
    }
    const digest = lastMissDigest;
    const maybe = lastMissMaybe;
    lastMissToken = undefined;
    options.onMiss?.();
    const secret = await loader.load(digest, hexOf(digest));
    // Decided after the lookup, with the clock read now: the same rule as a hit.
    if (secret) return answer(secret, ip, userAgent);
    if (maybe) options.onFalseMaybe?.();
    return NOT_FOUND;
  };

  return {
    verify,
    verifyNow,
    invalidate(hashes) {
      const digests = hashes.map(digestOfHex);
      store.invalidate(digests);
      // A request arriving after the change must not join a lookup that may have read the old row.
      loader.forget(digests);
    },
    invalidateKeys(keyIds) {
      store.invalidateKeys(keyIds);
      loader.forget();
    },
    clear() {
      store.clear();
      loader.forget();
    },
    get size() {
      return store.size;
    },
  };
}
