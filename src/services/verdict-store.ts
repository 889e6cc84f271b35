import { LRUCache } from 'lru-cache';
import { type SecretFacts, type ValidVerdict, validVerdict } from '../keys/verification.ts';
import type { VerificationRow } from '../store/secrets-store.ts';
import { UseSlot } from './usage-counter.ts';

/** A key's properties, held once for all its cached secrets. */
class KeyRecord {
  /** The answer for its current secret (no expiry); its secrets in grace derive theirs from it. */
  readonly valid: ValidVerdict;
  /** Cached secrets pointing here; the record leaves the key index with the last of them. */
  secrets = 0;
  /** Set when the key changed (name, products, deletion): every secret pointing here is a miss. */
  dropped = false;
  constructor(row: VerificationRow, products: readonly string[]) {
    this.valid = validVerdict({ keyId: row.keyId, name: row.name, products }, null);
  }
}

/**
 * One cached secret: its key, its expiry (null for a key's current secret) and the usage slot its
 * verifications are counted in. Each secret has an entry of its own, even a key's current one, so
 * counts never go to another secret of the same key.
 */
class CachedSecret extends UseSlot implements SecretFacts {
  /** A secret in grace's own "expiring" answer, built on its first valid verification. */
  private ownValid: ValidVerdict | undefined = undefined;
  constructor(
    readonly key: KeyRecord,
    readonly expiresAtMs: number | null,
    secretId: string,
  ) {
    super(secretId);
  }
  get valid(): ValidVerdict {
    if (this.expiresAtMs === null) return this.key.valid;
    this.ownValid ??= validVerdict(this.key.valid, this.expiresAtMs);
    return this.ownValid;
  }
}

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

/**
 * The bounded storage behind the verify cache, keyed by secret digest. Holds facts, never a verdict
 * on its own: the caller re-decides each hit against the clock, so a cached entry cannot say
 * valid:true one millisecond past expiry, however young the entry is.
 */
export function createVerdictStore(options: VerdictStoreOptions): VerdictStore {
  /** Live keys with cached secrets, so a key's secrets share one record and a key change drops them all. */
  const keys = new Map<string, KeyRecord>();
  const release = (cached: CachedSecret) => {
    const { key } = cached;
    if (--key.secrets === 0 && keys.get(key.valid.keyId) === key) keys.delete(key.valid.keyId);
  };
  // ttlResolution 0: read the clock on each get instead of arming a timer every millisecond to
  // refresh a cached one (a timer per ms is more work than a performance.now() per request).
  const positive = new LRUCache<string, CachedSecret>({
    max: options.maxEntries,
    ttl: options.ttlMs,
    ttlResolution: 0,
    dispose: release,
  });
  const negative = new LRUCache<string, true>({
    max: options.negativeMaxEntries ?? Math.max(1, Math.min(10_000, options.maxEntries)),
    ttl: options.negativeTtlMs ?? Math.min(options.ttlMs, 2_000),
    ttlResolution: 0,
  });
  /**
   * Frozen product lists shared by every key with the same products (a team has a few product sets
   * and many keys). Only a saving: emptied when it reaches the cache's bound.
   */
  const productLists = new Map<string, readonly string[]>();
  const productsOf = (products: readonly string[]): readonly string[] => {
    const id = JSON.stringify(products);
    let list = productLists.get(id);
    if (list === undefined) {
      if (productLists.size >= options.maxEntries) productLists.clear();
      list = Object.freeze([...products]);
      productLists.set(id, list);
    }
    return list;
  };
  let epoch = 0;
  const reportSize = () => options.onSizeChange?.(positive.size + negative.size);

  const dropKey = (key: KeyRecord) => {
    key.dropped = true;
    if (keys.get(key.valid.keyId) === key) keys.delete(key.valid.keyId);
  };

  const recordFor = (row: VerificationRow): KeyRecord => {
    const known = keys.get(row.keyId);
    // A row that disagrees with the record is newer than it (answers that raced an invalidation are
    // never remembered): the record's other secrets must not keep the old name or products.
    if (known && known.valid.name === row.name && sameProducts(known.valid.products, row.products))
      return known;
    if (known) dropKey(known);
    const key = new KeyRecord(row, productsOf(row.products));
    keys.set(row.keyId, key);
    return key;
  };

  // Each entry is its secret's usage slot: a new entry starts a new slot, even for a secret cached
  // before (the counter adds two slots of one secret together).
  const facts = (key: KeyRecord, row: VerificationRow): CachedSecret =>
    new CachedSecret(key, row.expiresAt?.getTime() ?? null, row.secretId);

  return {
    get(digest) {
      const cached = positive.get(digest);
      if (cached !== undefined) {
        if (!cached.key.dropped) return cached;
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
      const key = recordFor(row);
      const cached = facts(key, row);
      // Each entry is new: an entry it replaces is disposed of (and released) by the set itself.
      key.secrets++;
      positive.set(digest, cached);
      reportSize();
      return cached;
    },
    describe(row) {
      if (!row || row.deletedAt !== null) return null;
      return facts(new KeyRecord(row, Object.freeze([...row.products])), row);
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
      for (const keyId of keyIds) {
        const key = keys.get(keyId);
        if (key) dropKey(key);
      }
    },
    clear() {
      epoch++;
      positive.clear();
      negative.clear();
      for (const key of keys.values()) key.dropped = true;
      keys.clear();
      reportSize();
    },
    get size() {
      return positive.size + negative.size;
    },
  };
}

function sameProducts(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((product, i) => product === b[i]);
}
