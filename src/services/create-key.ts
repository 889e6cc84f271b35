import { hashToken } from '../keys/hash.ts';
import { formatRotateEvery } from '../keys/rotation-policy.ts';
import { displayToken, generateToken } from '../keys/token.ts';
import { findAuditEventByRequestId, insertAuditEvent } from '../store/audit-store.ts';
import { isUniqueViolation } from '../store/is-unique-violation.ts';
import { insertKey } from '../store/keys-store.ts';
import { runTransaction } from '../store/run-transaction.ts';
import { insertSecret } from '../store/secrets-store.ts';
import { assertAdmin } from './authorize.ts';
import { assertKeyFields, distinct, keyNameTaken } from './key-fields.ts';
import { toKeySummary } from './key-summary.ts';
import type { Actor, KeySummary, ServiceDeps } from './types.ts';

export interface CreateKeyInput {
  name: string;
  products?: string[];
  maintainers?: string[];
  alertChannel?: string | null;
  /** Rotation policy in days (1–730), or null/absent for none. */
  rotateEveryDays?: number | null;
  actor: Actor;
}

export type CreateKeyResult =
  | { status: 'created'; key: KeySummary; token: string }
  /** The request id was seen before: the key exists and its string is not revealed again. */
  | { status: 'duplicate'; keyName: string };

/** Issues a new key with its first secret. The key string is returned here and never again. */
export async function createKey(
  deps: ServiceDeps,
  input: CreateKeyInput,
): Promise<{ key: KeySummary; token: string }> {
  const result = await issueKey(deps, input);
  if (result.status !== 'created')
    throw new Error('a key created without a request id cannot be a duplicate');
  return result;
}

/**
 * `createKey` for a request that may arrive twice (a double click on the Slack dialog's submit): the
 * request id, recorded in the audit row, makes the second one a duplicate that reveals nothing.
 */
export function createKeyOnce(
  deps: ServiceDeps,
  input: CreateKeyInput & { requestId: string },
): Promise<CreateKeyResult> {
  return issueKey(deps, input);
}

/**
 * From Slack only admins may create keys, and a key must have a maintainer (checked here, at the last
 * step, whatever the dialog showed); the CLI operator is trusted.
 */
async function issueKey(
  deps: ServiceDeps,
  input: CreateKeyInput & { requestId?: string },
): Promise<CreateKeyResult> {
  assertAdmin(input.actor, deps.admins, 'create');
  const fields = {
    name: input.name,
    products: distinct(input.products ?? []),
    maintainers: distinct(input.maintainers ?? []),
    alertChannel: input.alertChannel ?? null,
    rotateEveryDays: input.rotateEveryDays ?? null,
  };
  assertKeyFields(fields, { requireMaintainers: input.actor.source === 'slack' });
  const now = deps.clock.now();
  const { token, parsed } = generateToken(deps.keyPrefix);
  const hash = hashToken(token);
  try {
    const created = await runTransaction(deps.db, async (tx) => {
      if (input.requestId && (await findAuditEventByRequestId(tx, input.requestId))) return null;
      const key = await insertKey(tx, { ...fields, createdAt: now });
      const secret = await insertSecret(tx, {
        keyId: key.id,
        hash,
        display: displayToken(parsed),
        createdAt: now,
      });
      await insertAuditEvent(tx, {
        keyId: key.id,
        action: 'create',
        actor: input.actor.id,
        source: input.actor.source,
        newSecretId: secret.id,
        requestId: input.requestId,
        details: key.rotateEveryDays ? { rotateEvery: formatRotateEvery(key.rotateEveryDays) } : null,
        createdAt: now,
      });
      return toKeySummary(key, secret, [], now);
    });
    if (!created) return { status: 'duplicate', keyName: input.name };
    await deps.changes.publish({
      type: 'created',
      keyId: created.id,
      keyName: created.name,
      secretHashes: [],
      newSecretHash: hash,
      actorId: input.actor.id,
    });
    return { status: 'created', key: created, token };
  } catch (error) {
    // The same request twice at once: the second waited on the name's unique index, then lost.
    if (
      input.requestId &&
      isUniqueViolation(error) &&
      (await findAuditEventByRequestId(deps.db, input.requestId))
    ) {
      return { status: 'duplicate', keyName: input.name };
    }
    if (isUniqueViolation(error, 'keys_live_name_uq')) throw keyNameTaken(input.name, error);
    throw error;
  }
}
