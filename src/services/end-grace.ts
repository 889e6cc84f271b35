import { AppError } from '../errors.ts';
import { endGraceExpiry } from '../keys/rotation.ts';
import { findAuditEventByRequestId, insertAuditEvent } from '../store/audit-store.ts';
import { lockKeyById } from '../store/keys-store.ts';
import { findCurrentSecret, findSecretsInGrace, setSecretExpiry } from '../store/secrets-store.ts';
import { assertMayManage } from './authorize.ts';
import { toKeySummary, toSecretView } from './key-summary.ts';
import { findLiveKeyOrThrow, type KeyRef, keyDeleted, keyNotFound } from './resolve-key.ts';
import { ackRequired } from './rotate-key.ts';
import type { Actor, KeySummary, SecretView, ServiceDeps } from './types.ts';

export interface EndGraceInput {
  key: KeyRef;
  actor: Actor;
  acknowledged: boolean;
  requestId?: string;
}

export type EndGraceResult =
  | { status: 'ended'; key: KeySummary; ended: SecretView[]; endedAt: Date }
  | { status: 'duplicate'; keyName: string };

/**
 * Stops every old secret of the key now (DESIGN §3 rule 5). It moves expiry earlier, which is allowed;
 * it is not an undo. Audited like a rotation.
 */
export async function endGrace(deps: ServiceDeps, input: EndGraceInput): Promise<EndGraceResult> {
  if (!input.acknowledged) throw ackRequired();
  const outcome = await deps.db.transaction(async (tx) => {
    const found = await findLiveKeyOrThrow(tx, input.key);
    const key = await lockKeyById(tx, found.id);
    if (!key) throw keyNotFound(input.key);
    if (key.deletedAt) throw keyDeleted(key.name);
    // Read after the lock, like a rotation: changes to one key happen in lock order, in time too.
    const now = deps.clock.now();
    if (input.requestId && (await findAuditEventByRequestId(tx, input.requestId))) {
      return { status: 'duplicate' as const, keyName: key.name };
    }
    assertMayManage(input.actor, key, deps.admins);
    const inGrace = await findSecretsInGrace(tx, key.id, now);
    if (inGrace.length === 0) {
      throw new AppError('NOT_IN_GRACE', `Key "${key.name}" has no old key in its grace period`, {
        userMessage: `"${key.name}" has no old key still working, so there is no grace period to end.`,
      });
    }
    for (const secret of inGrace) {
      await setSecretExpiry(tx, secret.id, endGraceExpiry(now, secret.expiresAt!));
    }
    await insertAuditEvent(tx, {
      keyId: key.id,
      action: 'end_grace',
      actor: input.actor.id,
      source: input.actor.source,
      oldSecretId: inGrace[0]!.id,
      requestId: input.requestId ?? null,
      details: { endedSecretIds: inGrace.map((s) => s.id) },
      createdAt: now,
    });
    const current = await findCurrentSecret(tx, key.id);
    return {
      status: 'ended' as const,
      key: toKeySummary(key, current, []),
      ended: inGrace.map((s) => toSecretView({ ...s, expiresAt: now })),
      endedAt: now,
      hashes: inGrace.map((s) => s.hash),
    };
  });
  if (outcome.status === 'duplicate') return outcome;
  const { hashes, ...result } = outcome;
  await deps.changes.publish({
    type: 'grace_ended',
    keyId: result.key.id,
    keyName: result.key.name,
    secretHashes: hashes,
    actorId: input.actor.id,
  });
  return result;
}
