import { AppError } from '../errors.ts';
import { type Delay, isDelay } from '../keys/delay.ts';
import { hashToken } from '../keys/hash.ts';
import { generateToken } from '../keys/token.ts';
import { findSecretsInGrace } from '../store/secrets-store.ts';
import { canaryRefusal } from './canary-refusals.ts';
import { toKeySummary, toSecretView } from './key-summary.ts';
import { changeLockedKey } from './lock-live-key.ts';
import { replaceCurrentSecret } from './replace-current-secret.ts';
import type { KeyRef } from './resolve-key.ts';
import type { Actor, RotationResult, ServiceDeps } from './types.ts';

export interface RotateKeyInput {
  key: KeyRef;
  delay: Delay;
  actor: Actor;
  /** The user confirmed that rotation cannot be undone. No acknowledgement, no rotation. */
  acknowledged: boolean;
  /** Same id twice → one rotation (double clicks, retried requests). */
  requestId: string;
  /**
   * Give up (KEY_BUSY, nothing changed) rather than wait longer than this for another change to the
   * same key to finish: a Slack answer has 3 s in all.
   */
  lockTimeoutMs?: number;
}

export function ackRequired(): AppError {
  return new AppError('ACK_REQUIRED', 'Rotation needs the acknowledgement that it cannot be undone', {
    userMessage: 'Please confirm that you understand rotation cannot be undone.',
  });
}

/**
 * One transaction: lock the key, make the current secret old (expiry = now + delay,
 * never later than it already was), insert the new current secret, record the rotation, audit it.
 */
export async function rotateKey(deps: ServiceDeps, input: RotateKeyInput): Promise<RotationResult> {
  if (!input.acknowledged) throw ackRequired();
  if (!isDelay(input.delay)) {
    throw new AppError('INVALID_INPUT', 'delay must be one of now, 1h, 3h, 24h, 48h, 72h');
  }
  if (!input.requestId) throw new AppError('INVALID_INPUT', 'a rotation needs a request id');
  const fresh = generateToken(deps.keyPrefix);
  const { token } = fresh;

  const result = await changeLockedKey(deps, { ...input, action: 'rotate' }, async (tx, key, now) => {
    if (key.canary) throw canaryRefusal(key.name, 'rotate');
    const replaced = await replaceCurrentSecret(tx, {
      key,
      now,
      delay: input.delay,
      actor: input.actor,
      requestId: input.requestId,
      fresh,
    });
    const inGrace = await findSecretsInGrace(tx, key.id, now);
    return {
      status: 'rotated' as const,
      token,
      key: toKeySummary({ ...key, lastRotatedAt: now }, replaced.fresh, inGrace, now),
      oldSecret: toSecretView({ ...replaced.old, expiresAt: replaced.oldExpiry }),
      newSecret: toSecretView(replaced.fresh),
      delay: input.delay,
      rotatedAt: now,
      auditId: replaced.auditId,
      oldHash: replaced.old.hash,
    };
  });
  if (result.status === 'duplicate') return result;
  const { oldHash, ...rotation } = result;
  await deps.changes.publish({
    type: 'rotated',
    keyId: rotation.key.id,
    keyName: rotation.key.name,
    secretHashes: oldHash ? [oldHash] : [],
    newSecretHash: hashToken(token),
    actorId: input.actor.id,
  });
  return rotation;
}
