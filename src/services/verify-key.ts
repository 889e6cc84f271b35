import { prepareVerificationLookupMany } from '../store/secrets-store.ts';
import type { ServiceDeps } from './types.ts';
import { createVerifyCache, type VerifyCache } from './verify-cache.ts';
import { connectVerifyInvalidation } from './verify-invalidation.ts';

export type { Verifier } from './verify-cache.ts';

/** Bounds for services built without the verify wiring (a short-lived CLI verifies a handful of keys). */
const DEFAULT_CACHE_SIZE = 10_000;
const DEFAULT_CACHE_TTL_MS = 30_000;

/**
 * The verifier services use when the app's verify path (with its metrics and cross-replica channel)
 * does not provide one, e.g. the CLI: the same cached verifier, invalidated by this process's changes.
 */
export function createLocalVerifyCache(deps: Pick<ServiceDeps, 'db' | 'clock' | 'changes'>): VerifyCache {
  const cache = createVerifyCache({
    lookupMany: prepareVerificationLookupMany(deps.db),
    clock: deps.clock,
    maxEntries: DEFAULT_CACHE_SIZE,
    ttlMs: DEFAULT_CACHE_TTL_MS,
  });
  connectVerifyInvalidation(deps.changes, cache);
  return cache;
}
