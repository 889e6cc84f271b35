/**
 * The cutover check (docs/architecture.md#usage-counting): when has every client of an old key moved to
 * the new one? Pure: no clock, no database.
 *
 * An old secret in its grace period is "quiet" once nothing has presented it for REKEY_QUIET_AFTER,
 * after something presented it since its rotation; the notice is owed while the key's current secret
 * is in use (presented within that same span), so a key nobody calls at all (a quiet night) does not
 * pass for a finished migration. None for a secret that expires before it goes quiet, and one at most
 * per secret (its notification row).
 */

export const CUTOVER_KIND = 'cutover';

const MINUTE = 60_000;
/**
 * While the old key is quiet but the new one is not in use either, how often to look again: the notice
 * follows the new key's first calls within this (plus a flush), at a cost of a few looks an hour per
 * such secret.
 */
export const CUTOVER_RECHECK_MS = 5 * MINUTE;

export interface CutoverPlanInput {
  now: Date;
  expiresAt: Date;
  /** When the rotation that made it old happened; null if unknown (any use then counts). */
  rotatedAt: Date | null;
  /** The old secret's last presentation, null if never. */
  oldLastUsedAt: Date | null;
  /** The key's current secret's last presentation, null if never (or no current secret). */
  currentLastUsedAt: Date | null;
  /** REKEY_QUIET_AFTER in ms. */
  quietAfterMs: number;
}

export type CutoverPlan =
  /** Owed now. */
  | { due: true }
  /** Nothing now; look again at `nextAt`, or never (null: it expires first, or already expired). */
  | { due: false; nextAt: Date | null };

export function planCutover(input: CutoverPlanInput): CutoverPlan {
  const now = input.now.getTime();
  const expiresAt = input.expiresAt.getTime();
  if (expiresAt <= now) return { due: false, nextAt: null };
  const last = input.oldLastUsedAt?.getTime();
  const usedSinceRotation =
    last !== undefined && (input.rotatedAt === null || last >= input.rotatedAt.getTime());
  // Never presented since the rotation: nothing can be quiet before one full span after its next use,
  // so one look per span is enough to notice that use in time.
  if (!usedSinceRotation) return later(now + input.quietAfterMs, expiresAt);
  const quietAt = last + input.quietAfterMs;
  // It stops before it could have been quiet that long: nothing to tell (a later use only moves it on).
  if (quietAt >= expiresAt) return { due: false, nextAt: null };
  if (now < quietAt) return { due: false, nextAt: new Date(quietAt) };
  const current = input.currentLastUsedAt?.getTime();
  if (current !== undefined && current > now - input.quietAfterMs) return { due: true };
  return later(now + CUTOVER_RECHECK_MS, expiresAt);
}

/** A look at `at`, unless the secret expires first (then none: it will never be owed the notice). */
function later(at: number, expiresAt: number): CutoverPlan {
  return { due: false, nextAt: at < expiresAt ? new Date(at) : null };
}
