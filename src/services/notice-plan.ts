/**
 * What the scheduler owes one old secret at one instant (docs/architecture.md#notices-exactly-once).
 * Pure: no clock, no database. Kinds are `reminder:<offset>` (e.g. `reminder:1h`), `expired` and
 * `used_after_expiry`.
 */

export const EXPIRED_KIND = 'expired';
/** The old key was presented after it stopped working: some client broke. */
export const USED_AFTER_EXPIRY_KIND = 'used_after_expiry';

const MINUTE = 60_000;
/**
 * After expiry the secret is watched this long for refused presentations, then retired. A client
 * that breaks shows up within a day (deploys, cron jobs, daily batches); watching longer would keep
 * every expired secret on the scheduler's due index for nothing.
 */
export const AFTER_EXPIRY_WINDOW_MS = 24 * 60 * MINUTE;
/**
 * The first refused presentation starts a timer of this length; the alert goes out when it ends. Ten
 * minutes lets a broken client's retries show how often it fails (the alert gives the count, first
 * and last), and is short enough that people still remember the rotation that caused it.
 */
export const AFTER_EXPIRY_DELAY_MS = 10 * MINUTE;
/**
 * How often a recently expired secret is looked at for refused presentations while nothing has been
 * seen: the alert goes out 10 to 15 minutes after the first one (plus the usage flush), and a
 * secret costs at most 288 looks over its 24-hour watch.
 */
export const AFTER_EXPIRY_CHECK_MS = 5 * MINUTE;

/**
 * A subject (an old secret, a key's policy) whose notice is in a live instance's hands is looked at
 * again after this long. Only a safety net: the holder's outcome sets the real next look, and its
 * release (it stopped, or died and was found dead) makes the subject due at once.
 */
export const CLAIM_RECHECK_MS = 60 * MINUTE;

export type NoticeKind = string;

export interface NoticePlanInput {
  expiresAt: Date;
  /** When the grace period began (the rotation). Unknown → only the expiry alert is owed. */
  graceStartedAt: Date | null;
  /** REKEY_REMINDERS in ms, any order. */
  offsets: readonly number[];
  now: Date;
  /** The first refused (EXPIRED) presentation at or after `expiresAt`, if any was recorded. */
  firstExpiredUseAt?: Date | null;
}

export interface NoticePlan {
  /** The one notification to send now, if any. */
  due: { kind: NoticeKind; offsetMs: number | null } | null;
  /** Reminders whose moment passed while nobody sent them and that `due` supersedes: never sent. */
  superseded: NoticeKind[];
  /** When to look at this secret again; null once the expiry alert is the due one. */
  nextAt: Date | null;
}

const MINUTE_MS = 60_000;

/**
 * How long after a failed delivery to try the same notification again. The first two retries go on the
 * next tick (most failures are a Slack blip); after that the wait doubles from a minute up to an hour,
 * so a channel that was archived or that rekey was removed from is not asked every minute forever —
 * and nothing is ever given up: it keeps being tried hourly until someone fixes the channel.
 * `attempt` counts the attempts made so far, the failed one included.
 */
export function retryDelayMs(attempt: number): number {
  if (attempt <= 2) return 1;
  return Math.min(60 * MINUTE_MS, MINUTE_MS * 2 ** (attempt - 3));
}

const UNITS: Array<[string, number]> = [
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
];

/** `3600000` → `1h`, `86400000` → `24h` (hours read better than days for these offsets). */
export function formatOffset(ms: number): string {
  for (const [unit, size] of UNITS) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

export function reminderKind(offsetMs: number): NoticeKind {
  return `reminder:${formatOffset(offsetMs)}`;
}

/** Reminder offsets this secret gets at all: those strictly shorter than its grace period. */
export function eligibleOffsets(input: Omit<NoticePlanInput, 'now' | 'firstExpiredUseAt'>): number[] {
  if (!input.graceStartedAt) return [];
  const grace = input.expiresAt.getTime() - input.graceStartedAt.getTime();
  return [...new Set(input.offsets)].filter((o) => o > 0 && o < grace).sort((a, b) => b - a);
}

/**
 * A reminder for offset `o` is due when `expiresAt - o <= now < expiresAt`. When several are due at
 * once (the scheduler was down, or a tick ran late) only the latest one — the smallest offset — still
 * says something true; the others are superseded. Once expired, no reminder is meaningful any more:
 * every unsent one is superseded by the expiry alert.
 */
export function planNotice(input: NoticePlanInput): NoticePlan {
  const now = input.now.getTime();
  const expires = input.expiresAt.getTime();
  const offsets = eligibleOffsets(input);
  if (now >= expires) return planAfterExpiry(input, offsets.map(reminderKind));
  const passed = offsets.filter((o) => expires - o <= now);
  const upcoming = offsets.filter((o) => expires - o > now);
  const latest = passed.at(-1);
  // Upcoming offsets are sorted descending, so the largest is the soonest to come.
  const next = upcoming.length > 0 ? expires - upcoming[0]! : expires;
  return {
    due: latest === undefined ? null : { kind: reminderKind(latest), offsetMs: latest },
    superseded: passed.slice(0, -1).map(reminderKind),
    nextAt: new Date(next),
  };
}

/**
 * Once expired: the expiry alert, then a watch of `AFTER_EXPIRY_WINDOW_MS` for refused presentations.
 * The first one within the watch makes `used_after_expiry` due `AFTER_EXPIRY_DELAY_MS` later; it says
 * everything the expiry alert would and more, so an expiry alert still unsent by then is superseded.
 * After the watch, or once that alert is due, there is nothing left to owe: the secret is retired.
 */
function planAfterExpiry(input: NoticePlanInput, reminders: NoticeKind[]): NoticePlan {
  const now = input.now.getTime();
  const windowEnd = input.expiresAt.getTime() + AFTER_EXPIRY_WINDOW_MS;
  const first = input.firstExpiredUseAt?.getTime();
  const timerEnd = first !== undefined && first < windowEnd ? first + AFTER_EXPIRY_DELAY_MS : null;
  if (timerEnd !== null && now >= timerEnd) {
    return {
      due: { kind: USED_AFTER_EXPIRY_KIND, offsetMs: null },
      superseded: [...reminders, EXPIRED_KIND],
      nextAt: null,
    };
  }
  const nextAt = timerEnd ?? (now < windowEnd ? Math.min(now + AFTER_EXPIRY_CHECK_MS, windowEnd) : null);
  return {
    due: { kind: EXPIRED_KIND, offsetMs: null },
    superseded: reminders,
    nextAt: nextAt === null ? null : new Date(nextAt),
  };
}
