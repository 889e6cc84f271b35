import { AppError } from '../errors.ts';
import { insertAuditEvent } from '../store/audit-store.ts';
import { markKeyDeleted } from '../store/keys-store.ts';
import { findSecretsOfKey } from '../store/secrets-store.ts';
import { changeLockedKey } from './lock-live-key.ts';
import type { KeyRef } from './resolve-key.ts';
import type { Actor, ServiceDeps } from './types.ts';

export interface DeleteKeyInput {
  key: KeyRef;
  actor: Actor;
  /**
   * The name the person typed to confirm: compared with the key's name as it is when locked, so a key
   * renamed while the dialog was open is not deleted on the strength of its old name.
   */
  confirmName?: string;
  lockTimeoutMs?: number;
}

export interface DeletedKey {
  id: string;
  name: string;
  alertChannel: string | null;
  deletedAt: Date;
}

/**
 * Soft delete: every secret of the key stops verifying at once (NOT_FOUND, on every replica: the
 * database announces it); its history stays, and its name may be given to a new key. From Slack only
 * admins may delete (checked inside the transaction).
 */
export async function deleteKey(deps: ServiceDeps, input: DeleteKeyInput): Promise<DeletedKey | undefined> {
  const request = { ...input, action: 'delete' as const };
  const deleted = await changeLockedKey(deps, request, async (tx, key, now) => {
    if (input.confirmName !== undefined && input.confirmName !== key.name) throw wrongName(key.name);
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
      key: { id: key.id, name: key.name, alertChannel: key.alertChannel, deletedAt: now },
      hashes: (await findSecretsOfKey(tx, key.id)).map((s) => s.hash),
    };
  });
  // Without a request id there is no duplicate: a second delete finds the key deleted.
  if (deleted.status !== 'deleted') return undefined;
  await deps.changes.publish({
    type: 'deleted',
    keyId: deleted.key.id,
    keyName: deleted.key.name,
    secretHashes: deleted.hashes,
    actorId: input.actor.id,
  });
  return deleted.key;
}

function wrongName(name: string): AppError {
  const message = `That is not the key’s name: type ${name} exactly to delete it.`;
  return new AppError('INVALID_INPUT', `confirmation does not match key ${name}`, {
    userMessage: `${message} Nothing was deleted.`,
    fields: { confirmName: message },
  });
}
