import { type Delay, delayMs } from './delay.ts';

/**
 * When the secret being replaced stops working. Invariant: rotation never extends a lifetime —
 * a secret already in its grace period keeps the earlier of its own expiry and now + delay
 * (docs/architecture.md#rotation-rules). The database trigger enforces the same rule independently.
 */
export function replacedSecretExpiry(now: Date, delay: Delay, currentExpiry: Date | null): Date {
  const proposed = new Date(now.getTime() + delayMs(delay));
  if (currentExpiry && currentExpiry.getTime() < proposed.getTime()) return currentExpiry;
  return proposed;
}

/** Ending grace moves expiry to now, and never later than it already is. */
export function endGraceExpiry(now: Date, currentExpiry: Date): Date {
  return currentExpiry.getTime() < now.getTime() ? currentExpiry : now;
}

export type SecretState = 'current' | 'grace' | 'expired';

/** A secret with no expiry is the current one; expiry is decided here, from the clock. */
export function secretState(expiresAt: Date | null, now: Date): SecretState {
  if (expiresAt === null) return 'current';
  return expiresAt.getTime() <= now.getTime() ? 'expired' : 'grace';
}
