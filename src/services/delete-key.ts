import { insertAuditEvent } from '../store/audit-store.ts';
import { markKeyDeleted } from '../store/keys-store.ts';
import { findSecretsOfKey } from '../store/secrets-store.ts';
import { changeLockedKey } from './lock-live-key.ts';
import type { KeyRef } from './resolve-key.ts';
import type { Actor, ServiceDeps } from './types.ts';

/** Soft delete: every secret of the key stops verifying at once; its history stays. */
export async function deleteKey(deps: ServiceDeps, input: { key: KeyRef; actor: Actor }): Promise<void> {
  const request = { ...input, action: 'delete' as const };
  const deleted = await changeLockedKey(deps, request, async (tx, key, now) => {
    await markKeyDeleted(tx, key.id, now);
    await insertAuditEvent(tx, {
      keyId: key.id,
      action: 'delete',
      actor: input.actor.id,
      source: input.actor.source,
      createdAt: now,
    });
    return {
      status: 'deleted' as const,
      key,
      hashes: (await findSecretsOfKey(tx, key.id)).map((s) => s.hash),
    };
  });
  // Without a request id there is no duplicate: a second delete finds the key deleted.
  if (deleted.status !== 'deleted') return;
  await deps.changes.publish({
    type: 'deleted',
    keyId: deleted.key.id,
    keyName: deleted.key.name,
    secretHashes: deleted.hashes,
    actorId: input.actor.id,
  });
}
