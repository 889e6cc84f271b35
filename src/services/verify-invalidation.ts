import type { InvalidationChannel } from '../store/invalidation-channel.ts';
import type { KeyChanges } from './key-changes.ts';
import type { VerifyCache } from './verify-cache.ts';

export interface VerifyInvalidationHooks {
  /** One invalidation applied; `origin` is where the change was made. */
  onInvalidation?: (origin: 'local' | 'remote') => void;
  /** Telling the other replicas failed: they fall back to the TTL for these secrets. */
  onPublishError?: (error: unknown) => void;
}

/**
 * Local changes invalidate this process's cache synchronously (before the service call returns to
 * its caller), then go to the other replicas through the channel. A failed broadcast never undoes
 * or fails the change: the other replicas' TTL still bounds how long they can be wrong.
 */
export function connectVerifyInvalidation(
  changes: KeyChanges,
  cache: VerifyCache,
  channel: InvalidationChannel | undefined,
  hooks: VerifyInvalidationHooks = {},
): () => void {
  return changes.subscribe(async (change) => {
    if (change.secretHashes.length === 0) return;
    cache.invalidate(change.secretHashes);
    hooks.onInvalidation?.('local');
    if (!channel) return;
    try {
      await channel.publish(change.secretHashes);
    } catch (error) {
      hooks.onPublishError?.(error);
    }
  });
}
