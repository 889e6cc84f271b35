import type { KnownBlock } from '@slack/types';
import { describeDuration } from '../../duration.ts';
import { oldKeyEndGraceButton } from './notice-message.ts';
import { slackDate, timeUntil } from './slack-time.ts';
import { escapeMrkdwn, mrkdwn } from './text.ts';
import { formatCount } from './use-phrase.ts';

/** One old key whose clients all seem to have moved. Ids and display forms only, never a key string. */
export interface CutoverItem {
  keyId: string;
  keyName: string;
  oldSecretId: string;
  oldDisplay: string;
  /** The key's current secret when this was decided (End grace now names it as seen); null: none. */
  currentSecretId: string | null;
  expiresAt: Date;
  /** The old key's last call: none since. */
  oldLastUsedAt: Date;
  /** The new key's calls since then. */
  currentCalls: number;
}

/** A header, a divider and a context leave room for this many keys in one message (Slack's 50 blocks). */
export const CUTOVER_ITEMS_PER_MESSAGE = 40;

const calls = (n: number) => `${formatCount(n)} call${n === 1 ? '' : 's'}`;

/** Quiet for, to the minute: "30 minutes", "2 hours 5 minutes". */
function quietFor(item: CutoverItem, now: Date): string {
  const ms = now.getTime() - item.oldLastUsedAt.getTime();
  return describeDuration(ms - (ms % 60_000));
}

function itemLine(item: CutoverItem, now: Date): string {
  const old = `\`${escapeMrkdwn(item.oldDisplay)}\``;
  return (
    `:white_check_mark: Every client seems to have moved — the old key ${old} of *${escapeMrkdwn(item.keyName)}* ` +
    `has had no calls for ${quietFor(item, now)}, the new key had ${calls(item.currentCalls)}. ` +
    `The old key still works until ${slackDate(item.expiresAt)} ` +
    `(${timeUntil(item.expiresAt, now)}): *End grace now* stops it at once, or let it run out.`
  );
}

function headline(items: CutoverItem[], audience: 'channel' | 'dm'): string {
  const text =
    items.length === 1
      ? `Every client seems to have moved off the old key of ${items[0]!.keyName}`
      : `Every client seems to have moved off ${items.length} old keys`;
  return (audience === 'dm' ? `${text} (you rotated it)` : text).slice(0, 150);
}

export function sortCutoverItems<T extends Pick<CutoverItem, 'expiresAt' | 'keyName'>>(items: T[]): T[] {
  return [...items].sort(
    (a, b) => a.expiresAt.getTime() - b.expiresAt.getTime() || a.keyName.localeCompare(b.keyName),
  );
}

/**
 * The cutover notice for one recipient (the alert channel, or the rotator's DM), up to
 * CUTOVER_ITEMS_PER_MESSAGE keys. Each key carries End grace now for exactly its old key. Pure.
 */
export function buildCutoverMessage(
  items: CutoverItem[],
  options: { audience: 'channel' | 'dm'; now: Date },
): { text: string; blocks: KnownBlock[] } {
  if (items.length === 0 || items.length > CUTOVER_ITEMS_PER_MESSAGE) {
    throw new RangeError(
      `a cutover message holds 1 to ${CUTOVER_ITEMS_PER_MESSAGE} keys, not ${items.length}`,
    );
  }
  const sorted = sortCutoverItems(items);
  const title = headline(sorted, options.audience);
  const lines = sorted.map((item) => itemLine(item, options.now));
  const footer =
    'rekey says this once per old key. Calls to an old key are counted by every replica every few seconds; if one arrives later, its card on rekey’s Home says so.';
  const blocks: KnownBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: title, emoji: true } },
    ...sorted.map((item, i): KnownBlock => {
      const button = item.currentSecretId
        ? oldKeyEndGraceButton(
            { keyId: item.keyId, currentSecretId: item.currentSecretId, oldSecretId: item.oldSecretId },
            item,
          )
        : undefined;
      return { type: 'section', text: mrkdwn(lines[i]!), ...(button ? { accessory: button } : {}) };
    }),
    { type: 'divider' },
    { type: 'context', elements: [mrkdwn(footer)] },
  ];
  return { text: `${title}. ${lines.join(' ')}`.slice(0, 3900), blocks };
}
