import { AppError } from '../errors.ts';
import { formatRotateEvery, isRotateEveryDays, ROTATE_EVERY_RANGE_TEXT } from '../keys/rotation-policy.ts';
import { insertAuditEvent } from '../store/audit-store.ts';
import { setKeyRotationPolicy } from '../store/keys-store.ts';
import { findCurrentSecret, findSecretsInGrace } from '../store/secrets-store.ts';
import { canaryRefusal } from './canary-refusals.ts';
import { toKeySummary } from './key-summary.ts';
import { changeLockedKey, type DuplicateRequest } from './lock-live-key.ts';
import type { KeyRef } from './resolve-key.ts';
import type { Actor, KeySummary, ServiceDeps } from './types.ts';

export interface SetRotationPolicyInput {
  key: KeyRef;
  /** Days between rotations (1–730, already parsed by `parseRotateEvery`); null removes the policy. */
  rotateEveryDays: number | null;
  actor: Actor;
  /** Same id twice → one change (a double-submitted dialog). */
  requestId?: string;
  /** Give up with KEY_BUSY rather than wait longer for the key's lock (Slack has 3 s in all). */
  lockTimeoutMs?: number;
}

export type SetRotationPolicyResult =
  | {
      /** `unchanged`: the key already had this policy; nothing was written or audited. */
      status: 'changed' | 'unchanged';
      key: KeySummary;
      /** The policy as written (`"90d"`) before and after; null: none. */
      before: string | null;
      after: string | null;
    }
  | DuplicateRequest;

/**
 * Sets or removes a key's rotation policy: one transaction on the locked key, authorised there (its
 * maintainers and the admins; the CLI is trusted), audited with the policy before and after. The due
 * date moves with it, and the scheduler re-plans the key's reminders (trigger
 * `keys_replan_policy_notices`, docs/architecture.md#rotation-policy).
 */
export async function setRotationPolicy(
  deps: ServiceDeps,
  input: SetRotationPolicyInput,
): Promise<SetRotationPolicyResult> {
  const days = input.rotateEveryDays;
  if (days !== null && !isRotateEveryDays(days)) {
    throw new AppError('INVALID_INPUT', `The rotation policy must be ${ROTATE_EVERY_RANGE_TEXT}.`);
  }
  const request = { ...input, action: 'policy' as const };
  const outcome = await changeLockedKey(deps, request, async (tx, key, now) => {
    if (key.canary && days !== null) throw canaryRefusal(key.name, 'policy');
    const before = formatRotateEvery(key.rotateEveryDays);
    const after = formatRotateEvery(days);
    const summary = async (row: typeof key) =>
      toKeySummary(row, await findCurrentSecret(tx, row.id), await findSecretsInGrace(tx, row.id, now), now);
    if (before === after) return { status: 'unchanged' as const, key: await summary(key), before, after };
    const updated = await setKeyRotationPolicy(tx, key.id, days);
    await insertAuditEvent(tx, {
      keyId: key.id,
      action: 'policy',
      actor: input.actor.id,
      source: input.actor.source,
      requestId: input.requestId ?? null,
      details: { before, after },
      createdAt: now,
    });
    return { status: 'changed' as const, key: await summary(updated), before, after };
  });
  if (outcome.status === 'changed') {
    await deps.changes.publish({
      type: 'policy_changed',
      keyId: outcome.key.id,
      keyName: outcome.key.name,
      secretHashes: [],
      actorId: input.actor.id,
    });
  }
  return outcome;
}
