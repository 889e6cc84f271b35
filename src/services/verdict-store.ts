import { type SecretFacts, type ValidVerdict, validVerdict } from '../keys/verification.ts';
import type { VerificationRow } from '../store/secrets-store.ts';
import { DigestTable } from './digest-table.ts';
import { UseSlot } from './usage-counter.ts';

/**
 * One cached secret: its answer while it has not expired, its expiry and the usage slot its
 * verifications are counted in (the class extends it, so the slot costs no object of its own). Each
 * secret has an entry of its own, even a key's current one, so counts never go to another secret of the
 * same key. Nothing else (its key and the time it was cached are in the table): the cache holds up to
 * REKEY_CACHE_SIZE of these, and every field is paid for that many times (bench/cache-memory.ts).
 *
 * A key's current secret, the common case, has no expiry: it answers null from its class, not from a
 * field of its own.
 */
class CurrentSecret extends UseSlot implements SecretFacts {
  constructor(
    /** Frozen; the key's shared one. */
    readonly valid: ValidVerdict,
    secretId: string,
  ) {
    super(secretId);
  }

  get expiresAtMs(): null {
    return null;
  }
}

/** A secret in its grace period: its own "expiring" answer and its expiry. */
class GraceSecret extends UseSlot implements SecretFacts {
  constructor(
    readonly valid: ValidVerdict,
    readonly expiresAtMs: number,
    secretId: string,
  ) {
    super(secretId);
  }
}

type CachedSecret = CurrentSecret | GraceSecret;

/** What the store hands out: the facts the rule decides on, and the slot its verifications count in. */
export type CountedFacts = SecretFacts & UseSlot;

export interface VerdictStoreOptions {
  /** Bound of the positive cache (secrets of live keys). */
  maxEntries: number;
  /** Maximum age of any entry, in ms (the fallback when invalidations are lost). */
  ttlMs: number;
  /** NOT_FOUND answers: a separate, smaller bound and a short life, so random-key floods stay cheap. */
  negativeMaxEntries?: number;
  negativeTtlMs?: number;
  onSizeChange?: (entries: number) => void;
}

/** `digest` below: a secret's SHA-256, one latin1 character per byte; entries are keyed by its first 16. */
export interface VerdictStore {
  /** The facts of a cached secret, null when it is cached as unknown (NOT_FOUND), undefined on a miss. */
  get(digest: string): CountedFacts | null | undefined;
  /**
   * Caches what a lookup found (a row of a live key, or nothing) and returns its facts. Only for a
   * lookup that started at `epoch` or later: an older answer may predate an invalidation.
   */
  remember(digest: string, row: VerificationRow | undefined): CountedFacts | null;
  /** The facts of a row without caching them (an answer that raced an invalidation). */
  describe(row: VerificationRow | undefined): CountedFacts | null;
  /** Bumped by every invalidation. */
  readonly epoch: number;
  invalidate(digests: readonly string[]): void;
  invalidateKeys(keyIds: readonly string[]): void;
  clear(): void;
  readonly size: number;
}

/** Slots of the table of shared answers (see `sharedAnswer`), at most: a power of two. */
const MAX_SHARED_SLOTS = 16_384;

/**
 * The bounded storage behind the verify cache, keyed by secret digest (in DigestTables: second-chance
 * eviction, a TTL on every entry, NOT_FOUND in a table of its own, smaller and shorter-lived). Holds
 * facts, never a verdict on its own: the caller re-decides each hit against the clock, so a cached entry
 * cannot say valid:true one millisecond past expiry, however young the entry is.
 *
 * Each entry owns its facts, as its own lookup read them; nothing about a key is held beside the
 * entries. Secrets of one key still share the key's properties (one answer object, one name, one id,
 * one product list) through `sharedAnswer`, a bounded table that is only a saving: dropping it costs
 * memory, never correctness, so it needs no reference counts and a key's answer simply replaces
 * whichever answer held its slot.
 */
export function createVerdictStore(options: VerdictStoreOptions): VerdictStore {
  const positive = new DigestTable<CachedSecret>({ maxEntries: options.maxEntries, ttlMs: options.ttlMs });
  const negative = new DigestTable<true>({
    maxEntries: options.negativeMaxEntries ?? Math.max(1, Math.min(10_000, options.maxEntries)),
    ttlMs: options.negativeTtlMs ?? Math.min(options.ttlMs, 2_000),
  });
  /**
   * The current-secret answer of keys seen recently, in a slot chosen by key id, and frozen product
   * lists by content (a team has a few product sets and many keys). An answer is reused only while it
   * agrees with the row at hand; a row that disagrees (the key changed) replaces it for the secrets
   * cached from then on.
   *
   * Answers sit in a fixed array, one per slot, rather than in a Map emptied when full: a long-lived
   * Map is in V8's old generation, and so is each table it grows into, so a Map filled by misses and
   * emptied when full would leave every table it outgrew there for a full GC to find (they add up to
   * about 90 bytes per key it held). The array never reallocates.
   */
  const answers = new Array<ValidVerdict | undefined>(sharedSlots(options.maxEntries)).fill(undefined);
  const slotOfKey = (keyId: string) => hashText(keyId) & (answers.length - 1);
  const productLists = new Map<string, readonly string[]>();
  const productsOf = (products: readonly string[]): readonly string[] => {
    const id = JSON.stringify(products);
    let list = productLists.get(id);
    if (list === undefined) {
      if (productLists.size >= answers.length) productLists.clear();
      list = Object.freeze([...products]);
      productLists.set(id, list);
    }
    return list;
  };
  const sharedAnswer = (row: VerificationRow): ValidVerdict => {
    const slot = slotOfKey(row.keyId);
    const known = answers[slot];
    if (
      known &&
      known.keyId === row.keyId &&
      known.name === row.name &&
      sameProducts(known.products, row.products)
    ) {
      return known;
    }
    const answer = validVerdict(
      { keyId: row.keyId, name: row.name, products: productsOf(row.products) },
      null,
    );
    answers[slot] = answer;
    return answer;
  };

  /**
   * Keys whose name, products or deletion changed less than `ttlMs` ago, with when (performance.now(),
   * the cache's own clock): an entry of theirs cached before that is stale. Checked on a hit instead
   * of finding the key's entries at the change: no index by key in every entry, no walk over all of
   * them (hundreds of ms at 100 000). Key changes are rare, so on almost every hit this is one size
   * check; a change older than the TTL is forgotten, every entry that predates it having expired.
   */
  const changedKeys = new Map<string, number>();
  const cachedBeforeChange = (digest: string, cached: CachedSecret): boolean => {
    const { keyId } = cached.valid;
    const changedAt = changedKeys.get(keyId);
    if (changedAt === undefined) return false;
    const now = performance.now();
    if (now - changedAt > options.ttlMs) {
      changedKeys.delete(keyId);
      return false;
    }
    // An entry cached before the change is always caught; one cached in the same instant is dropped
    // too, which is harmless (it is looked up once more).
    return (positive.storedAt(digest) ?? 0) <= changedAt;
  };

  let epoch = 0;
  const reportSize = () => options.onSizeChange?.(positive.size + negative.size);

  // Each entry is its secret's usage slot: a new entry starts a new slot, even for a secret cached
  // before (the counter adds two slots of one secret together).
  const facts = (current: ValidVerdict, row: VerificationRow): CachedSecret => {
    if (row.expiresAt === null) return new CurrentSecret(current, row.secretId);
    const expiresAtMs = row.expiresAt.getTime();
    return new GraceSecret(validVerdict(current, expiresAtMs), expiresAtMs, row.secretId);
  };

  return {
    get(digest) {
      const cached = positive.get(digest);
      if (cached !== undefined) {
        if (changedKeys.size === 0 || !cachedBeforeChange(digest, cached)) return cached;
        positive.delete(digest);
        reportSize();
        return undefined;
      }
      return negative.get(digest) ? null : undefined;
    },
    remember(digest, row) {
      if (!row || row.deletedAt !== null) {
        negative.set(digest, true);
        reportSize();
        return null;
      }
      const cached = facts(sharedAnswer(row), row);
      positive.set(digest, cached);
      reportSize();
      return cached;
    },
    describe(row) {
      if (!row || row.deletedAt !== null) return null;
      const { keyId, name } = row;
      return facts(validVerdict({ keyId, name, products: Object.freeze([...row.products]) }, null), row);
    },
    get epoch() {
      return epoch;
    },
    invalidate(digests) {
      epoch++;
      for (const digest of digests) {
        positive.delete(digest);
        negative.delete(digest);
      }
      reportSize();
    },
    invalidateKeys(keyIds) {
      epoch++;
      const now = performance.now();
      for (const keyId of keyIds) {
        const slot = slotOfKey(keyId);
        if (answers[slot]?.keyId === keyId) answers[slot] = undefined;
        changedKeys.set(keyId, now);
      }
    },
    clear() {
      epoch++;
      positive.clear();
      negative.clear();
      answers.fill(undefined);
      changedKeys.clear();
      reportSize();
    },
    get size() {
      return positive.size + negative.size;
    },
  };
}

/** The least power of two at or above the bound (no more answers than entries), up to MAX_SHARED_SLOTS. */
function sharedSlots(maxEntries: number): number {
  let slots = 1;
  while (slots < maxEntries && slots < MAX_SHARED_SLOTS) slots *= 2;
  return slots;
}

/** FNV-1a over the UTF-16 code units: spreads key ids (server-made UUIDs) over the slots. */
function hashText(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

function sameProducts(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((product, i) => product === b[i]);
}
