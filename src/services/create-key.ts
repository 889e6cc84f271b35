import { AppError } from '../errors.ts';
import { hashToken } from '../keys/hash.ts';
import { isKeyName } from '../keys/key-name.ts';
import { formatRotateEvery, isRotateEveryDays, ROTATE_EVERY_RANGE_TEXT } from '../keys/rotation-policy.ts';
import { displayToken, generateToken } from '../keys/token.ts';
import { insertAuditEvent } from '../store/audit-store.ts';
import { isUniqueViolation } from '../store/is-unique-violation.ts';
import { insertKey } from '../store/keys-store.ts';
import { runTransaction } from '../store/run-transaction.ts';
import { insertSecret } from '../store/secrets-store.ts';
import { toKeySummary } from './key-summary.ts';
import type { Actor, KeySummary, ServiceDeps } from './types.ts';

export interface CreateKeyInput {
  name: string;
  products?: string[];
  maintainers?: string[];
  alertChannel?: string | null;
  /** Rotation policy in days (already parsed, src/keys/rotation-policy.ts); null or absent: none. */
  rotateEveryDays?: number | null;
  actor: Actor;
}

const SLACK_USER_ID = /^[UW][A-Z0-9]{2,20}$/;
const SLACK_CHANNEL_ID = /^[CGD][A-Z0-9]{2,20}$/;
const PRODUCT = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

function validate(input: CreateKeyInput): string[] {
  const problems: string[] = [];
  if (!isKeyName(input.name)) {
    problems.push('name must be 1–64 letters, digits, ".", "_" or "-", starting with a letter or digit');
  }
  for (const product of input.products ?? []) {
    if (!PRODUCT.test(product)) problems.push(`product "${product}" is not a valid product name`);
  }
  for (const user of input.maintainers ?? []) {
    if (!SLACK_USER_ID.test(user))
      problems.push(`maintainer "${user}" is not a Slack user id (like U012ABCDEF)`);
  }
  if (input.alertChannel && !SLACK_CHANNEL_ID.test(input.alertChannel)) {
    problems.push(`channel "${input.alertChannel}" is not a Slack channel id (like C012ABCDEF)`);
  }
  const days = input.rotateEveryDays;
  if (days !== undefined && days !== null && !isRotateEveryDays(days)) {
    problems.push(`rotation policy must be ${ROTATE_EVERY_RANGE_TEXT}`);
  }
  return problems;
}

/** Issues a new key with its first secret. The key string is returned here and never again. */
export async function createKey(
  deps: ServiceDeps,
  input: CreateKeyInput,
): Promise<{ key: KeySummary; token: string }> {
  const problems = validate(input);
  if (problems.length > 0) throw new AppError('INVALID_INPUT', problems.join('; '));
  const now = deps.clock.now();
  const { token, parsed } = generateToken(deps.keyPrefix);
  try {
    const summary = await runTransaction(deps.db, async (tx) => {
      const key = await insertKey(tx, {
        name: input.name,
        products: [...new Set(input.products ?? [])],
        maintainers: [...new Set(input.maintainers ?? [])],
        alertChannel: input.alertChannel ?? null,
        rotateEveryDays: input.rotateEveryDays ?? null,
        createdAt: now,
      });
      const secret = await insertSecret(tx, {
        keyId: key.id,
        hash: hashToken(token),
        display: displayToken(parsed),
        createdAt: now,
      });
      await insertAuditEvent(tx, {
        keyId: key.id,
        action: 'create',
        actor: input.actor.id,
        source: input.actor.source,
        newSecretId: secret.id,
        details: key.rotateEveryDays ? { rotateEvery: formatRotateEvery(key.rotateEveryDays) } : null,
        createdAt: now,
      });
      return toKeySummary(key, secret, [], now);
    });
    await deps.changes.publish({
      type: 'created',
      keyId: summary.id,
      keyName: summary.name,
      secretHashes: [],
      actorId: input.actor.id,
    });
    return { key: summary, token };
  } catch (error) {
    if (isUniqueViolation(error, 'keys_live_name_uq')) {
      throw new AppError(
        'KEY_NAME_TAKEN',
        `A key named "${input.name}" already exists; choose another name.`,
        {
          cause: error,
        },
      );
    }
    throw error;
  }
}
