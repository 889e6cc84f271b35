import { createHash } from 'node:crypto';
import type { KeyRow, SecretRow } from '../../db/schema/index.ts';
import { AppError } from '../errors.ts';
import { endGraceExpiry } from '../keys/rotation.ts';
import { insertAuditEvent } from '../store/audit-store.ts';
import { findCurrentSecret, findSecretsInGrace, setSecretExpiry } from '../store/secrets-store.ts';
import { canaryRefusal } from './canary-refusals.ts';
import { toKeySummary, toSecretView } from './key-summary.ts';
import { changeLockedKey, type DuplicateRequest } from './lock-live-key.ts';
import type { KeyRef } from './resolve-key.ts';
import { ackRequired } from './rotate-key.ts';
import type { Actor, KeySummary, SecretView, ServiceDeps } from './types.ts';

/**
 * The key as the person saw it when they confirmed: its current secret then and the old secrets
 * listed. Secret ids are not secrets. `oldSecretIds` may be left out when the list was too long to
 * carry: the old secrets of one current secret can only shrink (expiry never moves later, and only a
 * rotation, which replaces the current secret, adds one), so those still in grace were all shown.
 */
export interface SeenKeyState {
  currentSecretId: string;
  oldSecretIds?: string[];
}

export interface EndGraceInput {
  key: KeyRef;
  actor: Actor;
  acknowledged: boolean;
  /**
   * Given (App Home): end exactly what was seen, or nothing if the key changed since. Absent (the
   * CLI): every old secret in grace now.
   */
  seen?: SeenKeyState;
  /**
   * Given (a leak message's End this key now…): end exactly this old secret, whatever rotations
   * happened since — a leaked key stays leaked — and nothing else; the current key is never touched.
   */
  onlySecretId?: string;
  /** Same id twice → one end-grace (a double-submitted confirmation). */
  requestId?: string;
  /** As for a rotation: give up with KEY_BUSY rather than wait longer for the key's lock. */
  lockTimeoutMs?: number;
}

export type EndGraceResult =
  | { status: 'ended'; key: KeySummary; ended: SecretView[]; endedAt: Date }
  | DuplicateRequest;

/**
 * Stops old secrets of the key now. It moves expiry earlier, which is allowed; it is not an undo.
 * Audited like a rotation.
 */
export async function endGrace(deps: ServiceDeps, input: EndGraceInput): Promise<EndGraceResult> {
  if (!input.acknowledged) throw ackRequired();
  const request = {
    key: input.key,
    actor: input.actor,
    action: 'end-grace' as const,
    requestId:
      input.requestId ?? (input.seen ? endGraceRequestId(input.actor, input.key, input.seen) : undefined),
    lockTimeoutMs: input.lockTimeoutMs,
  };
  const outcome = await changeLockedKey(deps, request, async (tx, key, now) => {
    if (key.canary) throw canaryRefusal(key.name, 'end-grace');
    const allInGrace = await findSecretsInGrace(tx, key.id, now);
    const current = await findCurrentSecret(tx, key.id);
    if (input.seen && current?.id !== input.seen.currentSecretId) throw keyChanged(key, allInGrace);
    const inGrace = input.onlySecretId
      ? allInGrace.filter((secret) => secret.id === input.onlySecretId)
      : input.seen
        ? shownOf(input.seen, allInGrace)
        : allInGrace;
    if (inGrace.length === 0 && input.onlySecretId) {
      throw new AppError('NOT_IN_GRACE', `That old key of "${key.name}" no longer works`, {
        userMessage: `That old key of "${key.name}" has already stopped working, so there was nothing to end. Nothing was changed.`,
      });
    }
    if (inGrace.length === 0) {
      throw new AppError('NOT_IN_GRACE', `Key "${key.name}" has no old key in its grace period`, {
        userMessage:
          allInGrace.length === 0
            ? `"${key.name}" has no old key still working, so there is no grace period to end.`
            : `The old key of "${key.name}" you were shown has already stopped working, so there was nothing to end. Nothing was changed.`,
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
      requestId: request.requestId ?? null,
      details: { endedSecretIds: inGrace.map((s) => s.id) },
      createdAt: now,
    });
    return {
      status: 'ended' as const,
      key: toKeySummary(key, current, [], now),
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

/**
 * With the same current secret as the person saw (no rotation since), the old secrets they were shown
 * that still work: exactly those end. A Home card shows every old secret; a reminder shows the one it
 * is about, and ending it must not end a sibling the reminder never named. Old secrets that stopped
 * meanwhile are simply no longer there to end.
 */
function shownOf(seen: SeenKeyState, inGrace: SecretRow[]): SecretRow[] {
  if (seen.oldSecretIds === undefined) return inGrace;
  const shown = new Set(seen.oldSecretIds);
  return inGrace.filter((secret) => shown.has(secret.id));
}

function keyChanged(key: KeyRow, inGrace: SecretRow[]): AppError {
  const now = inGrace.map((s) => `\`${s.display}\``).join(', ');
  const still = inGrace.length > 0 ? ` Old keys still working now: ${now}.` : '';
  return new AppError('KEY_CHANGED', `Key "${key.name}" changed since the end-grace was confirmed`, {
    // Pressed on a Home card or on a reminder in a channel: the words fit both.
    userMessage: `"${key.name}" was rotated again after the message you pressed End grace now on was shown, so nothing was ended: the key that was current then is now an old key, and clients may still be using it. Nothing was changed.${still} rekey's Home shows the key as it is now: press End grace now there if you still want to end its grace period.`,
  });
}

/**
 * The same confirmation twice (a double click) names the same key state: one end-grace, not two.
 * Once that state's old secrets have stopped, the same state can never be confirmed again.
 */
function endGraceRequestId(actor: Actor, key: KeyRef, seen: SeenKeyState): string {
  const state = JSON.stringify([key, seen.currentSecretId, [...(seen.oldSecretIds ?? [])].sort()]);
  const digest = createHash('sha256').update(state).digest('hex').slice(0, 16);
  return `${actor.source}:end-grace:${actor.id}:${digest}`;
}
