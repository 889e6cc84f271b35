import { AppError } from '../errors.ts';
import type { VerificationRow, VerificationRowByHash } from '../store/secrets-store.ts';
import { batchPerTurn } from './batch-per-turn.ts';
import type { CountedFacts, VerdictStore } from './verdict-store.ts';

export interface VerdictLoaderOptions {
  /**
   * The cold path: one prepared, indexed query for the misses of one event-loop turn
   * (secrets-store prepareVerificationLookupMany); hashes with no row are left out of the answer.
   */
  lookupMany: (hashes: readonly string[]) => Promise<readonly VerificationRowByHash[]>;
  store: VerdictStore;
  /** A miss waiting longer than this on the database fails (503) instead of queueing behind it. */
  lookupTimeoutMs?: number;
  /** After a database failure, misses fail at once for this long instead of piling onto a dead server. */
  failFastMs?: number;
  /** Called once per failure streak (not per request): the database stopped answering. */
  onUnavailable?: (error: unknown) => void;
  /** Called on the first answer after a failure streak: the database is back. */
  onAvailable?: () => void;
}

export interface VerdictLoader {
  /** The facts of a secret the store did not have, from the database, cached unless raced. */
  load(digest: string, hash: string): Promise<CountedFacts | null>;
  /** Requests arriving from now on must not join lookups that may have read the old rows. */
  forget(digests?: readonly string[]): void;
}

/**
 * The cold path of the verify cache: misses of one turn share one query and one timeout, concurrent
 * misses on one secret share one lookup, and a database failure is thrown (503 upstream), never
 * turned into a verdict.
 */
export function createVerdictLoader(options: VerdictLoaderOptions): VerdictLoader {
  const { lookupMany, store } = options;
  const lookupTimeoutMs = options.lookupTimeoutMs ?? 1_500;
  const failFastMs = options.failFastMs ?? 1_000;
  /**
   * Concurrent misses on one secret share one query (a hot key's first second after a restart).
   * Replaced by a new Map whenever it empties: a Map that has lived long is in V8's old generation, and
   * so is every table V8 allocates for it as it grows, shrinks or sheds deleted entries; filled and
   * emptied by every miss, it would leave a dead table in the old generation per miss or two, which
   * only a full GC frees (after a fill, about 100 bytes of RSS per cached secret: bench/cache-memory.ts).
   * A young Map's tables die young.
   */
  let inFlight = new Map<string, Promise<CountedFacts | null>>();
  const drop = (digest: string) => {
    inFlight.delete(digest);
    if (inFlight.size === 0) inFlight = new Map();
  };
  let failingUntil = 0;
  let failing = false;

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

  const fetch = async (digest: string, hash: string): Promise<CountedFacts | null> => {
    if (failing && performance.now() < failingUntil) throw unavailable(new Error('recent database failure'));
    // Taken when the miss is queued, before its query starts: an invalidation at any point after this
    // keeps the answer from being cached (the answer itself is still as fresh as the query).
    const startedEpoch = store.epoch;
    let row: VerificationRow | undefined;
    try {
      row = await lookup(hash);
    } catch (error) {
      if (!failing) options.onUnavailable?.(error);
      failing = true;
      failingUntil = performance.now() + failFastMs;
      throw unavailable(error);
    }
    if (failing) {
      failing = false;
      options.onAvailable?.();
    }
    return startedEpoch === store.epoch ? store.remember(digest, row) : store.describe(row);
  };

  return {
    load(digest, hash) {
      let pending = inFlight.get(digest);
      if (!pending) {
        const started = fetch(digest, hash).finally(() => {
          if (inFlight.get(digest) === started) drop(digest);
        });
        pending = started;
        inFlight.set(digest, pending);
      }
      return pending;
    },
    forget(digests) {
      if (digests === undefined) inFlight = new Map();
      else for (const digest of digests) drop(digest);
    },
  };
}
