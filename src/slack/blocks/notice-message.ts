import type { Button, KnownBlock } from '@slack/types';
import { describeDuration } from '../../duration.ts';
import type { UseSummary } from '../../keys/usage.ts';
import type { SecretClients } from '../../services/client-uses.ts';
import { encodeEndGraceIds } from '../end-grace-value.ts';
import { ids } from '../ids.ts';
import { stillUsedBy } from './client-phrase.ts';
import { slackDate } from './slack-time.ts';
import { escapeMrkdwn, mrkdwn, plain } from './text.ts';
import { formatCount, timeAgo, useStateOf } from './use-phrase.ts';

/**
 * One key in a notice message. Carries the old key's display form and ids only, never a key string.
 * `used_after_expiry`: the old key was presented after it stopped working (a client that broke).
 */
export interface NoticeItem {
  kind: 'reminder' | 'expired' | 'used_after_expiry';
  keyName: string;
  oldDisplay: string;
  expiresAt: Date;
  /** The old key's use; absent when it could not be read (the notice still goes out, without it). */
  use?: UseSummary;
  /** Who presented the old key within the last hour (its top clients): who still has to move. */
  clients?: SecretClients;
  /** For End grace now on a reminder: the key and what this message shows of it (ids only). */
  ids?: { keyId: string; currentSecretId: string | null; oldSecretId: string };
  /** For `used_after_expiry`: refused presentations since the expiry, the first and the last. */
  afterExpiry?: { count: number; firstAt: Date; lastAt: Date };
  /** The old key was reported leaked while it worked: a reminder says so and offers to end it now. */
  leaked?: boolean;
}

export interface NoticeMessage {
  text: string;
  blocks: KnownBlock[];
}

/** Slack allows 50 blocks per message; a header, a divider and a context leave room for this many keys. */
export const ITEMS_PER_MESSAGE = 40;

const calls = (n: number) => `${formatCount(n)} call${n === 1 ? '' : 's'}`;

/** Since `at`, to the minute: "2 hours 18 minutes". */
const since = (at: Date, now: Date) => {
  const ms = now.getTime() - at.getTime();
  return describeDuration(ms - (ms % 60_000));
};

/** What the old key's use says about ending its grace period: the question a reminder is for. */
function reminderUse(item: NoticeItem, now: Date): string {
  const use = item.use;
  if (!use) return '';
  const state = useStateOf(use, now);
  if (state === 'used') {
    const who = item.clients ? ` It is ${stillUsedBy(item.clients, now)}.` : '';
    return ` :warning: *Still in use:* ${calls(use.lastHour)} in the last hour, the last ${timeAgo(use.lastUsedAt!, now)} (${slackDate(use.lastUsedAt!)}).${who} Something still depends on it: find it and give it the new key before then.`;
  }
  const idle =
    state === 'idle'
      ? `Not used since ${slackDate(use.lastUsedAt!)} (${since(use.lastUsedAt!, now)})`
      : 'Never used';
  return ` :white_check_mark: ${idle}: it looks safe to end the grace period early.`;
}

/** The expiry alert: did anything still depend on the key when it stopped? */
function expiredUse(item: NoticeItem, now: Date): string {
  const use = item.use;
  if (!use) return '';
  const state = useStateOf(use, now);
  if (state === 'used') {
    return ` :warning: *It was still in use:* ${calls(use.lastHour)} in the last hour, the last ${timeAgo(use.lastUsedAt!, now)} (${slackDate(use.lastUsedAt!)}). Something that depended on it is failing now.`;
  }
  if (state === 'idle') {
    return ` Not used since ${slackDate(use.lastUsedAt!)} (${since(use.lastUsedAt!, now)}): nothing should notice.`;
  }
  return ' It was never used: nothing should notice.';
}

function itemLine(item: NoticeItem, now: Date): string {
  const name = `*${escapeMrkdwn(item.keyName)}*`;
  const old = `\`${escapeMrkdwn(item.oldDisplay)}\``;
  if (item.kind === 'used_after_expiry') {
    const a = item.afterExpiry;
    const how = a
      ? ` It was presented ${a.count === 1 ? 'once' : `${formatCount(a.count)} times`} since: first ${slackDate(a.firstAt)}, last ${slackDate(a.lastAt)} (${timeAgo(a.lastAt, now)}), and refused each time.`
      : '';
    return `:rotating_light: The old key ${old} of ${name} stopped working ${slackDate(item.expiresAt)}, and a client still sends it: it is broken now.${how}`;
  }
  if (item.kind === 'expired') {
    return `:no_entry: The old key ${old} of ${name} stopped working ${slackDate(item.expiresAt)}. Anything still sending it is now refused.${expiredUse(item, now)}`;
  }
  const left = describeDuration(item.expiresAt.getTime() - now.getTime());
  const leaked = item.leaked
    ? ' :rotating_light: *It was reported leaked:* anyone who saw it can use it until then. End it now unless something you cannot update yet still needs it.'
    : '';
  return `:hourglass_flowing_sand: The old key ${old} of ${name} stops working ${slackDate(item.expiresAt)} (in ${left}).${leaked}${reminderUse(item, now)}`;
}

/**
 * End grace now on a reminder whose old key looks unused: the Home card's action, carrying what this
 * message shows (the key, its current secret, this old secret), so the press ends exactly that — or
 * nothing if the key was rotated since — after the same confirmation and permission check.
 */
function endGraceButton(item: NoticeItem, now: Date): Button | undefined {
  if (item.kind !== 'reminder' || !item.ids?.currentSecretId) return undefined;
  // A leaked old key is worth ending even while something still sends it; otherwise only an unused one.
  if (!item.leaked && (!item.use || useStateOf(item.use, now) === 'used')) return undefined;
  return oldKeyEndGraceButton({ ...item.ids, currentSecretId: item.ids.currentSecretId }, item);
}

/**
 * End grace now for exactly one old key a message names: the Home card's action with the key, its
 * current secret and that old secret (ids only), so the press ends that one — or nothing if the key was
 * rotated since — after the same confirmation and permission check.
 */
export function oldKeyEndGraceButton(
  shown: { keyId: string; currentSecretId: string; oldSecretId: string },
  named: { keyName: string; oldDisplay: string },
): Button {
  return {
    type: 'button',
    action_id: ids.home.endGrace,
    text: plain('End grace now'),
    style: 'danger',
    value: encodeEndGraceIds({
      keyId: shown.keyId,
      currentSecretId: shown.currentSecretId,
      oldSecretIds: [shown.oldSecretId],
    }),
    confirm: {
      title: plain('End the grace period?'),
      text: mrkdwn(
        `The old key \`${escapeMrkdwn(named.oldDisplay)}\` of *${escapeMrkdwn(named.keyName)}* will stop working *immediately*; anything still using it fails at once. This cannot be undone.`.slice(
          0,
          300,
        ),
      ),
      confirm: plain('End grace now'),
      deny: plain('Cancel'),
      style: 'danger',
    },
  };
}

function whatToDo(items: NoticeItem[]): string {
  const names = [...new Set(items.map((i) => i.keyName))];
  const example = names.length === 1 ? ` ${escapeMrkdwn(names[0]!)}` : ' <key name>';
  const expiredOnly = items.every((i) => i.kind !== 'reminder');
  const broken = items.some((i) => i.kind === 'used_after_expiry');
  const deploy = broken
    ? 'Find what still sends the old key (`rekey keys usage` shows when it is sent) and deploy the new key there.'
    : expiredOnly
      ? 'If something broke, deploy the new key where the old one was used.'
      : 'Deploy the new key everywhere the old one is still used before then.';
  return `*What to do:* ${deploy} If the new key was lost, rotate again with \`/rotate-key${example}\` — the new key is shown once, only to whoever rotates.`;
}

function headline(items: NoticeItem[], audience: 'channel' | 'dm'): string {
  const broken = items.filter((i) => i.kind === 'used_after_expiry').length;
  const expired = items.filter((i) => i.kind === 'expired').length;
  const soon = items.length - expired - broken;
  const parts: string[] = [];
  if (broken === 1 && items.length === 1)
    parts.push(`Old key of ${items[0]!.keyName} is still sent after it expired`);
  else if (broken > 0) parts.push(`${broken} old keys are still sent after they expired`);
  if (soon === 1 && items.length === 1) {
    parts.push(`Old key of ${items[0]!.keyName} stops working soon`);
  } else if (soon > 0) parts.push(`${soon} old keys stop working soon`);
  if (expired === 1 && items.length === 1) parts.push(`Old key of ${items[0]!.keyName} has stopped working`);
  else if (expired > 0) parts.push(`${expired} old keys have stopped working`);
  const text = parts.join('; ');
  return audience === 'dm' ? `${text} (you rotated it)`.slice(0, 150) : text.slice(0, 150);
}

/** Orders items soonest expiry first, then by name: the order a reader scans a list in. */
export function sortNoticeItems<T extends Pick<NoticeItem, 'expiresAt' | 'keyName'>>(items: T[]): T[] {
  return [...items].sort(
    (a, b) => a.expiresAt.getTime() - b.expiresAt.getTime() || a.keyName.localeCompare(b.keyName),
  );
}

/** One message for up to `ITEMS_PER_MESSAGE` keys, for one recipient. Pure. */
export function buildNoticeMessage(
  items: NoticeItem[],
  options: { audience: 'channel' | 'dm'; now: Date },
): NoticeMessage {
  if (items.length === 0 || items.length > ITEMS_PER_MESSAGE) {
    throw new RangeError(`a notice message holds 1 to ${ITEMS_PER_MESSAGE} keys, not ${items.length}`);
  }
  const sorted = sortNoticeItems(items);
  const title = headline(sorted, options.audience);
  const lines = sorted.map((item) => itemLine(item, options.now));
  const blocks: KnownBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: title, emoji: true } },
    ...sorted.map((item, i): KnownBlock => {
      const button = endGraceButton(item, options.now);
      return { type: 'section', text: mrkdwn(lines[i]!), ...(button ? { accessory: button } : {}) };
    }),
    { type: 'divider' },
    { type: 'context', elements: [{ type: 'mrkdwn', text: whatToDo(sorted) }] },
  ];
  return { text: `${title}. ${lines.join(' ')} ${whatToDo(sorted)}`.slice(0, 3900), blocks };
}

/**
 * Reminders and expiry alerts for one recipient, several keys to a message (Slack takes about one
 * message per second per channel, so a busy tick groups rather than floods). Pure.
 */
export function buildNoticeMessages(
  items: NoticeItem[],
  options: { audience: 'channel' | 'dm'; now: Date },
): NoticeMessage[] {
  const sorted = sortNoticeItems(items);
  const messages: NoticeMessage[] = [];
  for (let i = 0; i < sorted.length; i += ITEMS_PER_MESSAGE) {
    messages.push(buildNoticeMessage(sorted.slice(i, i + ITEMS_PER_MESSAGE), options));
  }
  return messages;
}
