/**
 * What the scheduler owes one old secret at one instant (docs/architecture.md#notices-exactly-once).
 * Pure: no clock, no database. Kinds are `reminder:<offset>` (e.g. `reminder:1h`) and `expired`.
 */

export const EXPIRED_KIND = 'expired';

export type NoticeKind = string;

export interface NoticePlanInput {
  expiresAt: Date;
  /** When the grace period began (the rotation). Unknown → only the expiry alert is owed. */
  graceStartedAt: Date | null;
  /** REKEY_REMINDERS in ms, any order. */
  offsets: readonly number[];
  now: Date;
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
export function eligibleOffsets(input: Omit<NoticePlanInput, 'now'>): number[] {
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
  if (now >= expires) {
    return {
      due: { kind: EXPIRED_KIND, offsetMs: null },
      superseded: offsets.map(reminderKind),
      nextAt: null,
    };
  }
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
