import type { KeyChanges } from './key-changes.ts';
import type { VerifyCache } from './verify-cache.ts';

export interface VerifyInvalidationHooks {
  /** One invalidation applied from a change made in this process. */
  onInvalidation?: () => void;
  /** A secret created in this process (its hash), before its key string is revealed. */
  onNewSecret?: (hash: string) => void;
}

/**
 * Local changes invalidate this process's cache synchronously, before the service call returns to its
 * caller, and put the secrets they create in its live-secret filter. Other replicas hear of the same change from the database itself: triggers announce every
 * expiry change, key deletion and change of a key's name or products on the invalidation channel at
 * commit (migrations 0004 and 0006), whoever made it — a replica, the CLI or a hand-typed UPDATE.
 */
export function connectVerifyInvalidation(
  changes: KeyChanges,
  cache: VerifyCache,
  hooks: VerifyInvalidationHooks = {},
): () => void {
  return changes.subscribe((change) => {
    if (change.newSecretHash !== undefined) hooks.onNewSecret?.(change.newSecretHash);
    // A key's name and products are in every verdict of its secrets; an edit may have changed them.
    if (change.type === 'edited') {
      cache.invalidateKeys([change.keyId]);
      hooks.onInvalidation?.();
    }
    if (change.secretHashes.length === 0) return;
    cache.invalidate(change.secretHashes);
    hooks.onInvalidation?.();
  });
}
