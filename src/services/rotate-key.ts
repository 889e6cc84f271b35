import { AppError } from '../errors.ts';
import { type Delay, isDelay } from '../keys/delay.ts';
import { hashToken } from '../keys/hash.ts';
import { replacedSecretExpiry } from '../keys/rotation.ts';
import { displayToken, generateToken } from '../keys/token.ts';
import { findAuditEventByRequestId, insertAuditEvent } from '../store/audit-store.ts';
import { isUniqueViolation } from '../store/is-unique-violation.ts';
import { lockKeyById, markKeyRotated } from '../store/keys-store.ts';
import { isLockTimeout, setLockTimeout } from '../store/lock-timeout.ts';
import {
  findCurrentSecret,
  findSecretsInGrace,
  insertSecret,
  setSecretExpiry,
} from '../store/secrets-store.ts';
import { assertMayManage } from './authorize.ts';
import { toKeySummary, toSecretView } from './key-summary.ts';
import { findLiveKeyOrThrow, type KeyRef, keyDeleted, keyNotFound } from './resolve-key.ts';
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

export function keyBusy(): AppError {
  return new AppError('KEY_BUSY', 'Another change to this key is in progress', {
    userMessage: 'Someone else is changing this key right now. Nothing was changed: try again in a moment.',
    retryable: true,
  });
}

export function ackRequired(): AppError {
  return new AppError('ACK_REQUIRED', 'Rotation needs the acknowledgement that it cannot be undone', {
    userMessage: 'Please confirm that you understand rotation cannot be undone.',
  });
}

/**
 * DESIGN §3 in one transaction: lock the key, make the current secret old (expiry = now + delay,
 * never later than it already was), insert the new current secret, record the rotation, audit it.
 */
export async function rotateKey(deps: ServiceDeps, input: RotateKeyInput): Promise<RotationResult> {
  if (!input.acknowledged) throw ackRequired();
  if (!isDelay(input.delay)) {
    throw new AppError('INVALID_INPUT', 'delay must be one of now, 1h, 3h, 24h, 48h, 72h');
  }
  if (!input.requestId) throw new AppError('INVALID_INPUT', 'a rotation needs a request id');
  const { token, parsed } = generateToken(deps.keyPrefix);
  const newHash = hashToken(token);

  let result: RotationResult & { oldHash?: string };
  try {
    result = await deps.db.transaction(async (tx) => {
      if (input.lockTimeoutMs) await setLockTimeout(tx, input.lockTimeoutMs);
      const found = await findLiveKeyOrThrow(tx, input.key);
      // The lock serialises rotations of this key; everything below sees the latest committed state.
      const key = await lockKeyById(tx, found.id);
      if (!key) throw keyNotFound(input.key);
      if (key.deletedAt) throw keyDeleted(key.name);
      // Read after the lock: a rotation that queued behind another one happens after it, in time too.
      const now = deps.clock.now();
      if (await findAuditEventByRequestId(tx, input.requestId))
        return { status: 'duplicate', keyName: key.name };
      assertMayManage(input.actor, key, deps.admins);

      const current = await findCurrentSecret(tx, key.id);
      if (!current) throw new AppError('INTERNAL', `key ${key.name} has no current secret`);
      const oldExpiry = replacedSecretExpiry(now, input.delay, current.expiresAt);
      await setSecretExpiry(tx, current.id, oldExpiry);
      const fresh = await insertSecret(tx, {
        keyId: key.id,
        hash: newHash,
        display: displayToken(parsed),
        createdAt: now,
      });
      await markKeyRotated(tx, key.id, now);
      const audit = await insertAuditEvent(tx, {
        keyId: key.id,
        action: 'rotate',
        actor: input.actor.id,
        source: input.actor.source,
        delay: input.delay,
        oldSecretId: current.id,
        newSecretId: fresh.id,
        requestId: input.requestId,
        createdAt: now,
      });
      const inGrace = await findSecretsInGrace(tx, key.id, now);
      return {
        status: 'rotated',
        token,
        key: toKeySummary({ ...key, lastRotatedAt: now }, fresh, inGrace),
        oldSecret: toSecretView({ ...current, expiresAt: oldExpiry }),
        newSecret: toSecretView(fresh),
        delay: input.delay,
        rotatedAt: now,
        auditId: audit.id,
        oldHash: current.hash,
      };
    });
  } catch (error) {
    // Two requests with one id racing on different keys: the unique index decided; nothing happened.
    if (isUniqueViolation(error, 'audit_events_request_id_uq')) {
      return { status: 'duplicate', keyName: 'name' in input.key ? input.key.name : '' };
    }
    if (isLockTimeout(error)) throw keyBusy();
    throw error;
  }
  if (result.status === 'duplicate') return result;
  const { oldHash, ...rotation } = result;
  await deps.changes.publish({
    type: 'rotated',
    keyId: rotation.key.id,
    keyName: rotation.key.name,
    secretHashes: oldHash ? [oldHash] : [],
    actorId: input.actor.id,
  });
  return rotation;
}
