import type { KnownBlock } from '@slack/types';
import { rotateButton, sortPolicyItems } from './policy-notice-message.ts';
import { policyItemLine } from './policy-phrase.ts';
import { mrkdwn, plain } from './text.ts';

/** One key in the weekly digest: overdue, or due within the week. */
export interface DigestItem {
  keyId: string;
  keyName: string;
  dueAt: Date;
  rotateEvery: string;
}

/**
 * Slack allows 50 blocks per message: the header, the summary, a divider, "and N more" and the
 * what-to-do line leave room for this many keys.
 */
export const DIGEST_KEYS_SHOWN = 45;

/**
 * The weekly digest for one alert channel: its keys overdue or due within 7 days, most overdue first,
 * each with Rotate…; past `DIGEST_KEYS_SHOWN`, a count of the rest and where to see them. Pure.
 */
export function buildPolicyDigestMessage(
  items: DigestItem[],
  now: Date,
): { text: string; blocks: KnownBlock[] } {
  if (items.length === 0) throw new RangeError('a digest lists at least one key');
  const sorted = sortPolicyItems(items);
  const overdue = sorted.filter((i) => i.dueAt.getTime() <= now.getTime()).length;
  const soon = sorted.length - overdue;
  const summary = [overdue > 0 ? `*${overdue}* overdue` : '', soon > 0 ? `*${soon}* due within 7 days` : '']
    .filter(Boolean)
    .join(' · ');
  const shown = sorted.slice(0, DIGEST_KEYS_SHOWN);
  const rest = sorted.length - shown.length;
  const lines = shown.map((item) => policyItemLine(item, now));
  const title = 'Weekly digest: keys due for rotation';
  const blocks: KnownBlock[] = [
    { type: 'header', text: plain(title) },
    { type: 'context', elements: [mrkdwn(`${summary}. Most overdue first.`)] },
    ...shown.map(
      (item, i): KnownBlock => ({
        type: 'section',
        text: mrkdwn(lines[i]!),
        accessory: rotateButton(item.keyId),
      }),
    ),
  ];
  if (rest > 0) {
    blocks.push({
      type: 'section',
      text: mrkdwn(
        `…and *${rest} more key${rest === 1 ? '' : 's'}* due for rotation: open rekey's Home to see them all.`,
      ),
    });
  }
  blocks.push(
    { type: 'divider' },
    {
      type: 'context',
      elements: [
        mrkdwn(
          'Press *Rotate…* to rotate a key now (its maintainers and rekey admins can). Keys with no rotation policy never appear here: `rekey keys policy <name> --rotate-every 90d` sets one.',
        ),
      ],
    },
  );
  const more = rest > 0 ? ` …and ${rest} more: open rekey's Home to see them all.` : '';
  return {
    text: `${title} (${summary.replace(/\*/g, '')}). ${lines.join(' ')}${more}`.slice(0, 3900),
    blocks,
  };
}
