/**
 * Rotation policy: "rotate every N days". A key is due N days after its last rotation, or after its
 * creation if it was never rotated. Written `90d`; `none` (or null) means no policy.
 */
export const MIN_ROTATE_EVERY_DAYS = 1;
export const MAX_ROTATE_EVERY_DAYS = 730;
const DAY_MS = 86_400_000;

export const ROTATE_EVERY_RANGE_TEXT = `a number of days from ${MIN_ROTATE_EVERY_DAYS}d to ${MAX_ROTATE_EVERY_DAYS}d (e.g. 90d), or none`;

export type RotateEveryParse = { ok: true; days: number | null } | { ok: false; message: string };

/** Parses `90d` or `none`; anything else (0d, 800d, 3w, 90) is refused with the accepted range. */
export function parseRotateEvery(text: string): RotateEveryParse {
  const value = text.trim();
  if (value === 'none') return { ok: true, days: null };
  const match = /^(\d{1,4})d$/.exec(value);
  const days = match ? Number(match[1]) : Number.NaN;
  if (!isRotateEveryDays(days)) {
    return { ok: false, message: `"${value}" is not a rotation policy: use ${ROTATE_EVERY_RANGE_TEXT}.` };
  }
  return { ok: true, days };
}

/** A policy in days that the keys table accepts (its check constraint says the same). */
export function isRotateEveryDays(days: number): boolean {
  return Number.isInteger(days) && days >= MIN_ROTATE_EVERY_DAYS && days <= MAX_ROTATE_EVERY_DAYS;
}

/** `90` → `"90d"`; null stays null (the JSON form the CLI prints). */
export function formatRotateEvery(days: number | null): string | null {
  return days === null ? null : `${days}d`;
}

export interface PolicyDates {
  rotateEveryDays: number | null;
  createdAt: Date;
  lastRotatedAt: Date | null;
}

/** When the key must next be rotated, or null without a policy. */
export function rotationDueAt(key: PolicyDates): Date | null {
  if (key.rotateEveryDays === null) return null;
  const since = key.lastRotatedAt ?? key.createdAt;
  return new Date(since.getTime() + key.rotateEveryDays * DAY_MS);
}

export function isOverdue(key: PolicyDates, now: Date): boolean {
  const due = rotationDueAt(key);
  return due !== null && now.getTime() >= due.getTime();
}
