/**
 * What the scheduler owes one key's rotation policy at one instant (docs/architecture.md#rotation-policy).
 * Pure: no clock, no database. Kinds are `policy_due:<offset>` (e.g. `policy_due:7d`) before the due
 * date and `policy_overdue` once it has passed; each is owed once per due date.
 */
import { formatOffset } from './notice-plan.ts';

export const POLICY_OVERDUE_KIND = 'policy_overdue';
const POLICY_DUE_PREFIX = 'policy_due:';
const DAY_MS = 86_400_000;

/** `604800000` → `policy_due:7d`; offsets that are not whole days keep hours or minutes (`policy_due:12h`). */
export function policyReminderKind(offsetMs: number): string {
  const offset = offsetMs % DAY_MS === 0 ? `${offsetMs / DAY_MS}d` : formatOffset(offsetMs);
  return `${POLICY_DUE_PREFIX}${offset}`;
}

export function isPolicyReminderKind(kind: string): boolean {
  return kind.startsWith(POLICY_DUE_PREFIX);
}

export interface PolicyPlanInput {
  dueAt: Date;
  /** The policy's period (rotate every N days), in ms. */
  periodMs: number;
  /** REKEY_POLICY_REMINDERS in ms, any order. */
  offsets: readonly number[];
  now: Date;
}

export interface PolicyPlan {
  /** The one notice to send now, if any. */
  due: { kind: string; offsetMs: number | null } | null;
  /** Reminders whose moment passed while nobody sent them and that `due` supersedes: never sent. */
  superseded: string[];
  /** When to look at this key again; null once the overdue notice is the due one (nothing after it). */
  nextAt: Date | null;
}

/**
 * Offsets this key gets a reminder at: those strictly shorter than its period (a 7-day reminder for a
 * key rotated every 3 days would fall before its last rotation), longest first.
 */
export function eligiblePolicyOffsets(offsets: readonly number[], periodMs: number): number[] {
  return [...new Set(offsets)].filter((o) => o > 0 && o < periodMs).sort((a, b) => b - a);
}

/**
 * A reminder at offset `o` is due when `dueAt - o <= now < dueAt`; from `dueAt` on, the overdue notice.
 * When several are due at once (the scheduler was down, a tick ran late) only the latest still says
 * something true: the others are superseded, and once overdue every unsent reminder is.
 */
export function planPolicyNotice(input: PolicyPlanInput): PolicyPlan {
  const now = input.now.getTime();
  const due = input.dueAt.getTime();
  const offsets = eligiblePolicyOffsets(input.offsets, input.periodMs);
  if (now >= due) {
    return {
      due: { kind: POLICY_OVERDUE_KIND, offsetMs: null },
      superseded: offsets.map(policyReminderKind),
      nextAt: null,
    };
  }
  const passed = offsets.filter((o) => due - o <= now);
  const upcoming = offsets.filter((o) => due - o > now);
  const latest = passed.at(-1);
  // Upcoming offsets are sorted longest first, so the first is the soonest to come.
  const next = upcoming.length > 0 ? due - upcoming[0]! : due;
  return {
    due: latest === undefined ? null : { kind: policyReminderKind(latest), offsetMs: latest },
    superseded: passed.slice(0, -1).map(policyReminderKind),
    nextAt: new Date(next),
  };
}
