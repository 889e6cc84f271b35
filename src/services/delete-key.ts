import { insertAuditEvent } from '../store/audit-store.ts';
import { lockKeyById, markKeyDeleted } from '../store/keys-store.ts';
import { findSecretsOfKey } from '../store/secrets-store.ts';
import { assertMayManage } from './authorize.ts';
import { findLiveKeyOrThrow, type KeyRef, keyDeleted } from './resolve-key.ts';
import type { Actor, ServiceDeps } from './types.ts';

/** Soft delete: every secret of the key stops verifying at once; its history stays. */
export async function deleteKey(deps: ServiceDeps, input: { key: KeyRef; actor: Actor }): Promise<void> {
  const now = deps.clock.now();
  const { key, hashes } = await deps.db.transaction(async (tx) => {
    const found = await findLiveKeyOrThrow(tx, input.key);
    const key = (await lockKeyById(tx, found.id))!;
    // Another delete may have committed while this one waited for the lock.
    if (key.deletedAt) throw keyDeleted(key.name);
    assertMayManage(input.actor, key, deps.admins);
    await markKeyDeleted(tx, key.id, now);
    await insertAuditEvent(tx, {
      keyId: key.id,
      action: 'delete',
      actor: input.actor.id,
      source: input.actor.source,
      createdAt: now,
    });
    return { key, hashes: (await findSecretsOfKey(tx, key.id)).map((s) => s.hash) };
  });
  await deps.changes.publish({
    type: 'deleted',
    keyId: key.id,
    keyName: key.name,
    secretHashes: hashes,
    actorId: input.actor.id,
  });
}
