import type { KeySummary } from '../../services/types.ts';
import { slackDate } from './slack-time.ts';
import { escapeMrkdwn } from './text.ts';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? '' : 's'}`;

/** Whole days (rounded down), or hours under a day: "12 days", "5 hours", "less than an hour". */
export function roughSpan(ms: number): string {
  if (ms >= DAY_MS) return plural(Math.floor(ms / DAY_MS), 'day');
  if (ms >= HOUR_MS) return plural(Math.floor(ms / HOUR_MS), 'hour');
  return 'less than an hour';
}

/** `90d` → "every 90 days"; `1d` → "every day". */
export function policyWords(rotateEvery: string): string {
  const days = Number.parseInt(rotateEvery, 10);
  return days === 1 ? 'every day' : `every ${days} days`;
}

/**
 * The key card's policy line: "rotation due in 12 days", ":warning: *rotation overdue by 3 days*"
 * (highlighted: it is the one that asks for action) or "no rotation policy".
 */
export function cardPolicyLine(
  key: Pick<KeySummary, 'rotateEvery' | 'rotationDueAt' | 'overdue'>,
  now: Date,
): string {
  if (!key.rotateEvery || !key.rotationDueAt) return '_no rotation policy_';
  const due = key.rotationDueAt;
  const gap = due.getTime() - now.getTime();
  if (key.overdue) {
    return `:warning: *rotation overdue by ${roughSpan(-gap)}* (due ${slackDate(due)}; policy: ${policyWords(key.rotateEvery)})`;
  }
  return `rotation due in ${roughSpan(gap)} (${slackDate(due)}; policy: ${policyWords(key.rotateEvery)})`;
}

/** One key's line in a policy notice or digest: when it is or was due, and its policy. */
export function policyItemLine(
  item: { keyName: string; dueAt: Date; rotateEvery: string },
  now: Date,
): string {
  const name = `*${escapeMrkdwn(item.keyName)}*`;
  const gap = item.dueAt.getTime() - now.getTime();
  const policy = `its policy is to rotate it ${policyWords(item.rotateEvery)}`;
  if (gap <= 0) {
    const by = -gap >= HOUR_MS ? ` by ${roughSpan(-gap)}` : '';
    return `:warning: ${name} is *overdue* for rotation${by}: it was due ${slackDate(item.dueAt)}; ${policy}.`;
  }
  return `:calendar: ${name} is due for rotation ${slackDate(item.dueAt)} (in ${roughSpan(gap)}); ${policy}.`;
}
