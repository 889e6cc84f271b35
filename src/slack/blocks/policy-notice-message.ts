import type { Button, KnownBlock } from '@slack/types';
import { ids } from '../ids.ts';
import { policyItemLine, roughSpan } from './policy-phrase.ts';
import { escapeMrkdwn, mrkdwn, plain } from './text.ts';

/** One key in a rotation-policy reminder or overdue notice. Ids and names only, never a key string. */
export interface PolicyNoticeItem {
  kind: 'due' | 'overdue';
  keyId: string;
  keyName: string;
  dueAt: Date;
  /** `90d` */
  rotateEvery: string;
}

/** Slack allows 50 blocks per message; a header, a divider and a context leave room for this many keys. */
export const POLICY_ITEMS_PER_MESSAGE = 40;

/**
 * The Home card's Rotate… (same action id, the key's id as value): it opens the normal rotation dialog
 * for this key, after the same permission check; someone who may not rotate it gets a reply only
 * they see, naming who can.
 */
export function rotateButton(keyId: string): Button {
  return { type: 'button', action_id: ids.home.rotate, text: plain('Rotate…'), value: keyId };
}

/** Soonest due (the most overdue) first, then by name. */
export function sortPolicyItems<T extends { dueAt: Date; keyName: string }>(items: T[]): T[] {
  return [...items].sort(
    (a, b) => a.dueAt.getTime() - b.dueAt.getTime() || a.keyName.localeCompare(b.keyName),
  );
}

function headline(items: PolicyNoticeItem[], audience: 'channel' | 'dm', now: Date): string {
  const overdue = items.filter((i) => i.kind === 'overdue').length;
  const soon = items.length - overdue;
  let text: string;
  if (items.length === 1) {
    const item = items[0]!;
    text =
      item.kind === 'overdue'
        ? `${item.keyName} is overdue for rotation`
        : `${item.keyName} is due for rotation in ${roughSpan(item.dueAt.getTime() - now.getTime())}`;
  } else {
    const parts: string[] = [];
    if (overdue > 0) parts.push(`${overdue} key${overdue === 1 ? ' is' : 's are'} overdue for rotation`);
    if (soon > 0) parts.push(`${soon} key${soon === 1 ? ' is' : 's are'} due for rotation soon`);
    text = parts.join('; ');
  }
  const whose = audience === 'dm' ? ` (you maintain ${items.length === 1 ? 'it' : 'them'})` : '';
  return `${text}${whose}`.slice(0, 150);
}

function whatToDo(items: PolicyNoticeItem[]): string {
  const names = [...new Set(items.map((i) => i.keyName))];
  const example = names.length === 1 ? ` ${escapeMrkdwn(names[0]!)}` : ' <key name>';
  return `*What to do:* press *Rotate…* (or \`/rotate-key${example}\`), deploy the new key and let the old one expire; the next due date then counts from that rotation. Only a key's maintainers and rekey admins can rotate it.`;
}

/** One message for up to `POLICY_ITEMS_PER_MESSAGE` keys, for one recipient. Pure. */
export function buildPolicyNoticeMessage(
  items: PolicyNoticeItem[],
  options: { audience: 'channel' | 'dm'; now: Date },
): { text: string; blocks: KnownBlock[] } {
  if (items.length === 0 || items.length > POLICY_ITEMS_PER_MESSAGE) {
    throw new RangeError(`a policy notice holds 1 to ${POLICY_ITEMS_PER_MESSAGE} keys, not ${items.length}`);
  }
  const sorted = sortPolicyItems(items);
  const title = headline(sorted, options.audience, options.now);
  const lines = sorted.map((item) => policyItemLine(item, options.now));
  const blocks: KnownBlock[] = [
    { type: 'header', text: plain(title) },
    ...sorted.map(
      (item, i): KnownBlock => ({
        type: 'section',
        text: mrkdwn(lines[i]!),
        accessory: rotateButton(item.keyId),
      }),
    ),
    { type: 'divider' },
    { type: 'context', elements: [mrkdwn(whatToDo(sorted))] },
  ];
  return { text: `${title}. ${lines.join(' ')}`.slice(0, 3900), blocks };
}
