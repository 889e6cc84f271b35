import { AppError } from '../errors.ts';
import { hashToken } from '../keys/hash.ts';
import type { OnLeak } from '../keys/on-leak.ts';
import { formatRotateEvery } from '../keys/rotation-policy.ts';
import { displayToken, generateToken } from '../keys/token.ts';
import { findAuditEventByRequestId, insertAuditEvent } from '../store/audit-store.ts';
import { isUniqueViolation } from '../store/is-unique-violation.ts';
import { insertKey } from '../store/keys-store.ts';
import { runTransaction } from '../store/run-transaction.ts';
import { insertSecret } from '../store/secrets-store.ts';
import { assertAdmin } from './authorize.ts';
import { canaryRefusal } from './canary-refusals.ts';
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
  /** What rekey does by itself when a working secret is reported leaked; `notify` when absent. */
  onLeak?: OnLeak;
  /** A decoy key (docs/architecture.md#canary-keys): fixed for the key's life. */
  canary?: boolean;
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
    onLeak: input.onLeak ?? 'notify',
  };
  assertKeyFields(fields, { requireMaintainers: input.actor.source === 'slack' });
  const canary = input.canary === true;
  if (canary) assertCanaryFields(fields);
  const now = deps.clock.now();
  const { token, parsed } = generateToken(deps.keyPrefix);
  const hash = hashToken(token);
  try {
    const created = await runTransaction(deps.db, async (tx) => {
      if (input.requestId && (await findAuditEventByRequestId(tx, input.requestId))) return null;
      const key = await insertKey(tx, { ...fields, canary, createdAt: now });
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
        details:
          canary || key.rotateEveryDays || key.onLeak !== 'notify'
            ? {
                ...(canary ? { canary: true } : {}),
                ...(key.rotateEveryDays ? { rotateEvery: formatRotateEvery(key.rotateEveryDays) } : {}),
                ...(key.onLeak !== 'notify' ? { onLeak: key.onLeak } : {}),
              }
            : null,
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

/**
 * A canary never gets a rotation policy nor an automatic leak action (it is never rotated), and its alarms must reach someone: an
 * alert channel or at least one maintainer.
 */
function assertCanaryFields(fields: {
  name: string;
  maintainers: string[];
  alertChannel: string | null;
  rotateEveryDays: number | null;
  onLeak: OnLeak;
}) {
  if (fields.rotateEveryDays !== null) throw canaryRefusal(fields.name, 'policy');
  if (fields.onLeak !== 'notify') throw canaryRefusal(fields.name, 'on-leak');
  if (fields.alertChannel === null && fields.maintainers.length === 0) {
    const text =
      'a canary needs an alert channel or a maintainer: its alarms go there, and an alarm nobody hears is no use';
    throw new AppError('INVALID_INPUT', text, {
      userMessage: `A canary needs an alert channel or a maintainer: its alarms go there. Nothing was created.`,
      fields: { alertChannel: `${text[0]!.toUpperCase()}${text.slice(1)}.` },
    });
  }
}
