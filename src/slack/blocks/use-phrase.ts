import { describeDuration } from '../../duration.ts';
import { HOUR_MS, type UseSummary } from '../../keys/usage.ts';
import { slackDate } from './slack-time.ts';

/**
 * How a secret has been used, as a rotation decision needs it: presented within the last hour, not
 * for an hour or more, or never. An old key idle for an hour means every client moved to the new one
 * (usage is flushed every few seconds by every replica, so an hour of silence is not a flush lag).
 */
export type UseState = 'used' | 'idle' | 'never';

/** A secret not presented for this long looks abandoned by its clients. */
export const IDLE_AFTER_MS = HOUR_MS;

export function useStateOf(use: UseSummary | undefined, now: Date): UseState {
  if (!use?.lastUsedAt) return 'never';
  return now.getTime() - use.lastUsedAt.getTime() < IDLE_AFTER_MS ? 'used' : 'idle';
}

/** `1204` → `1 204` (a no-break space, so a count never wraps in two). */
export function formatCount(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, '\u00a0');
}

/** "3 min ago", "2 hours ago": from the clock at build time (a message is a snapshot). */
export function timeAgo(at: Date, now: Date): string {
  const ms = now.getTime() - at.getTime();
  if (ms < 60_000) return 'less than a minute ago';
  if (ms < HOUR_MS) return `${Math.floor(ms / 60_000)} min ago`;
  return `${describeDuration(ms - (ms % 60_000))} ago`;
}

const calls = (n: number) => `${formatCount(n)} call${n === 1 ? '' : 's'}`;

/**
 * `last used 3 min ago · 1 204 calls in the last hour`, `not used since <date> (2 hours)` or
 * `never used`. Dates render in each reader's time zone.
 */
export function describeUse(use: UseSummary | undefined, now: Date): string {
  const state = useStateOf(use, now);
  if (state === 'never' || !use?.lastUsedAt) return 'never used';
  if (state === 'idle') {
    const since = now.getTime() - use.lastUsedAt.getTime();
    return `not used since ${slackDate(use.lastUsedAt)} (${describeDuration(since - (since % 60_000))})`;
  }
  return `last used ${timeAgo(use.lastUsedAt, now)} · ${calls(use.lastHour)} in the last hour`;
}
