import type { KnownBlock } from '@slack/types';
import { describeDuration } from '../../duration.ts';
import { slackDate } from './slack-time.ts';
import { escapeMrkdwn } from './text.ts';

/** One key in a notice message. Carries the old key's display form only, never a key string. */
export interface NoticeItem {
  kind: 'reminder' | 'expired';
  keyName: string;
  oldDisplay: string;
  expiresAt: Date;
}

export interface NoticeMessage {
  text: string;
  blocks: KnownBlock[];
}

/** Slack allows 50 blocks per message; a header, a divider and a context leave room for this many keys. */
export const ITEMS_PER_MESSAGE = 40;

function itemLine(item: NoticeItem, now: Date): string {
  const name = `*${escapeMrkdwn(item.keyName)}*`;
  const old = `\`${escapeMrkdwn(item.oldDisplay)}\``;
  if (item.kind === 'expired') {
    return `:no_entry: The old key ${old} of ${name} stopped working ${slackDate(item.expiresAt)}. Anything still sending it is now refused.`;
  }
  const left = describeDuration(item.expiresAt.getTime() - now.getTime());
  return `:hourglass_flowing_sand: The old key ${old} of ${name} stops working ${slackDate(item.expiresAt)} (in ${left}).`;
}

function whatToDo(items: NoticeItem[]): string {
  const names = [...new Set(items.map((i) => i.keyName))];
  const example = names.length === 1 ? ` ${escapeMrkdwn(names[0]!)}` : ' <key name>';
  const expiredOnly = items.every((i) => i.kind === 'expired');
  const deploy = expiredOnly
    ? 'If something broke, deploy the new key where the old one was used.'
    : 'Deploy the new key everywhere the old one is still used before then.';
  return `*What to do:* ${deploy} If the new key was lost, rotate again with \`/rotate-key${example}\` — the new key is shown once, only to whoever rotates.`;
}

function headline(items: NoticeItem[], audience: 'channel' | 'dm'): string {
  const expired = items.filter((i) => i.kind === 'expired').length;
  const soon = items.length - expired;
  const parts: string[] = [];
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
    ...lines.map((line): KnownBlock => ({ type: 'section', text: { type: 'mrkdwn', text: line } })),
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
