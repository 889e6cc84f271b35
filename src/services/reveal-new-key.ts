import { and, eq } from 'drizzle-orm';
import { auditEvents } from '../../db/schema/index.ts';
import { AppError } from '../errors.ts';
import { hashToken } from '../keys/hash.ts';
import { displayToken, generateToken } from '../keys/token.ts';
import { findAuditEventByRequestId, insertAuditEvent } from '../store/audit-store.ts';
import type { DbOrTx } from '../store/database.ts';
import { findSecretById } from '../store/leak-reports-store.ts';
import { findCurrentSecret, insertSecret, setSecretExpiry } from '../store/secrets-store.ts';
import { REKEY_ACTOR } from './contain-leak.ts';
import { changeLockedKey } from './lock-live-key.ts';
import type { Actor, ServiceDeps } from './types.ts';

export interface RevealNewKeyInput {
  keyId: string;
  /** The never-shown current secret an automatic rotation made (the button carries its id). */
  secretId: string;
  actor: Actor;
  lockTimeoutMs?: number;
}

export type RevealNewKeyResult =
  /** The key string, shown to this person alone (modal and ephemeral DM), never again. */
  | { status: 'revealed'; keyName: string; token: string; display: string; revealedAt: Date }
  /** Someone pressed first: who and when; nothing is revealed. */
  | { status: 'already'; keyName: string; revealedTo: string; revealedAt: Date }
  /** The key was rotated by someone since: its key went to them, nothing is revealed here. */
  | { status: 'replaced'; keyName: string };

/**
 * **Reveal the new key** on the DM of an automatic rotation (docs/architecture.md#leak-response). The
 * rotation's own new key string was thrown away unseen, so there is nothing stored to reveal; instead,
 * on the locked key, the never-shown current secret is replaced at once by a fresh one whose string goes
 * to the first maintainer who presses. Ending the never-shown secret breaks nobody: nobody ever had it.
 * Audited as `reveal` under the request id `reveal:<secret id>`, so two presses at once, a double click
 * or two replicas reveal once; every later press is told who got it and when.
 */
export async function revealNewKey(deps: ServiceDeps, input: RevealNewKeyInput): Promise<RevealNewKeyResult> {
  const fresh = generateToken(deps.keyPrefix);
  const request = {
    key: { id: input.keyId },
    actor: input.actor,
    action: 'rotate' as const,
    lockTimeoutMs: input.lockTimeoutMs,
  };
  const outcome = await changeLockedKey(deps, request, async (tx, key, now) => {
    await assertNeverShown(tx, key.id, input.secretId);
    const earlier = await findAuditEventByRequestId(tx, revealRequestId(input.secretId));
    if (earlier) {
      return {
        status: 'already' as const,
        keyName: key.name,
        revealedTo: earlier.actor,
        revealedAt: earlier.createdAt,
      };
    }
    const current = await findCurrentSecret(tx, key.id);
    if (current?.id !== input.secretId) return { status: 'replaced' as const, keyName: key.name };
    await setSecretExpiry(tx, current.id, now);
    const secret = await insertSecret(tx, {
      keyId: key.id,
      hash: hashToken(fresh.token),
      display: displayToken(fresh.parsed),
      createdAt: now,
    });
    await insertAuditEvent(tx, {
      keyId: key.id,
      action: 'reveal',
      actor: input.actor.id,
      source: input.actor.source,
      oldSecretId: current.id,
      newSecretId: secret.id,
      requestId: revealRequestId(input.secretId),
      details: { replacedUnshownSecretId: current.id },
      createdAt: now,
    });
    return {
      status: 'revealed' as const,
      keyName: key.name,
      token: fresh.token,
      display: secret.display,
      revealedAt: now,
      hiddenHash: current.hash,
    };
  });
  // No request id is passed to changeLockedKey: presses queue on the key's lock and see each other.
  if (outcome.status === 'duplicate') throw new AppError('INTERNAL', 'a reveal cannot be a duplicate');
  if (outcome.status !== 'revealed') return outcome;
  const { hiddenHash, ...revealed } = outcome;
  await deps.changes.publish({
    type: 'rotated',
    keyId: input.keyId,
    keyName: revealed.keyName,
    secretHashes: [hiddenHash],
    // This process's filter of live secrets holds the revealed key before it is shown.
    newSecretHash: hashToken(revealed.token),
    actorId: input.actor.id,
  });
  return revealed;
}

const revealRequestId = (secretId: string) => `reveal:${secretId}`;

/** Only a secret made by rekey's own automatic rotation, of this key, can be revealed this way. */
async function assertNeverShown(tx: DbOrTx, keyId: string, secretId: string): Promise<void> {
  const secret = /^[0-9a-f-]{36}$/i.test(secretId) ? await findSecretById(tx, secretId) : undefined;
  const [made] = secret
    ? await tx
        .select({ id: auditEvents.id })
        .from(auditEvents)
        .where(
          and(
            eq(auditEvents.newSecretId, secretId),
            eq(auditEvents.action, 'rotate'),
            eq(auditEvents.actor, REKEY_ACTOR),
          ),
        )
        .limit(1)
    : [];
  if (!secret || secret.keyId !== keyId || !made) {
    throw new AppError('INVALID_INPUT', 'not a key made by an automatic rotation', {
      userMessage: 'This button does not name a key rekey rotated by itself. Nothing was changed.',
    });
  }
}
