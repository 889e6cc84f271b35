import type { KeyRow, SecretRow } from '../../db/schema/index.ts';
import { AppError } from '../errors.ts';
import type { Delay } from '../keys/delay.ts';
import { hashToken } from '../keys/hash.ts';
import { replacedSecretExpiry } from '../keys/rotation.ts';
import { displayToken, type ParsedToken } from '../keys/token.ts';
import { insertAuditEvent } from '../store/audit-store.ts';
import type { DbOrTx } from '../store/database.ts';
import { markKeyRotated } from '../store/keys-store.ts';
import { findCurrentSecret, insertSecret, setSecretExpiry } from '../store/secrets-store.ts';
import type { Actor } from './types.ts';

/**
 * The heart of a rotation (docs/architecture.md#rotation-rules), on a key row the caller has locked:
 * the current secret stops at `min(now + delay, its own expiry)`, the new one is inserted as current,
 * the key is marked rotated and the rotation audited. A person's rotation (rotate-key.ts) and rekey's
 * automatic containment of a leak (contain-leak.ts) both go through here.
 */
export async function replaceCurrentSecret(
  tx: DbOrTx,
  input: {
    key: KeyRow;
    now: Date;
    delay: Delay;
    actor: Actor;
    requestId: string;
    /** The new key string; only its hash and display form are stored. */
    fresh: { token: string; parsed: ParsedToken };
    details?: Record<string, unknown>;
  },
): Promise<{ old: SecretRow; oldExpiry: Date; fresh: SecretRow; auditId: string }> {
  const { key, now } = input;
  const current = await findCurrentSecret(tx, key.id);
  if (!current) throw new AppError('INTERNAL', `key ${key.name} has no current secret`);
  const oldExpiry = replacedSecretExpiry(now, input.delay, current.expiresAt);
  await setSecretExpiry(tx, current.id, oldExpiry);
  const fresh = await insertSecret(tx, {
    keyId: key.id,
    hash: hashToken(input.fresh.token),
    display: displayToken(input.fresh.parsed),
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
    details: input.details ?? null,
    createdAt: now,
  });
  return { old: current, oldExpiry, fresh, auditId: audit.id };
}
