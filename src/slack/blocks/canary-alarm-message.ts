import type { KnownBlock } from '@slack/types';
import { CANARY_QUIET_MS } from '../../keys/canary-alarm.ts';
import type { CanaryTryView, ClaimedCanaryAlarm } from '../../services/canary-alarms.ts';
import { slackDate } from './slack-time.ts';
import { clip, escapeMrkdwn, mrkdwn, plain } from './text.ts';

/** One canary alarm as people read it. Display forms and ids only, never a key string. */
export type CanaryAlarmItem = Pick<
  ClaimedCanaryAlarm,
  'keyName' | 'display' | 'dueAt' | 'tries' | 'latest' | 'previousAt'
>;

/** A header, each alarm's section and the closing context stay far inside Slack's 50 blocks. */
export const CANARY_ALARMS_PER_MESSAGE = 10;

/**
 * Text a client or an intruder chose (user agent, URI, a scanner's URL), shown as inline code: Slack's
 * control characters escaped (no mention, no link can be smuggled in), backticks and line breaks
 * replaced so the code span holds, and cut short.
 */
function quoted(text: string, max = 200): string {
  const flat = text.replace(/[`\r\n\t]/g, ' ');
  return `\`${escapeMrkdwn(flat.length > max ? `${flat.slice(0, max - 1)}…` : flat)}\``;
}

const moreTries = (n: number) => `${n} more ${n === 1 ? 'try' : 'tries'}`;

function headline(item: CanaryAlarmItem): string {
  const name = `*${escapeMrkdwn(item.keyName)}*`;
  if (item.previousAt === null) {
    return item.tries === 1
      ? `:rotating_light: Canary key ${name} was tried.`
      : `:rotating_light: Canary key ${name} was tried ${item.tries} times.`;
  }
  return `:rotating_light: Canary key ${name}: *${moreTries(item.tries)}* since the last alarm (${slackDate(item.previousAt)}).`;
}

/** How it reached rekey: the API and who asked, or where it was seen leaked. */
function how(t: CanaryTryView): string {
  const by = t.askedBy ? ` by API token ${quoted(t.askedBy, 40)}` : '';
  switch (t.via) {
    case 'authorize': {
      const request = [t.method, t.uri].filter((p) => p !== null).join(' ');
      const what = request ? ` for ${quoted(request)}` : '';
      return `presented through a gateway${what} (asked${by || ' by an unnamed gateway'})`;
    }
    case 'verify':
      return `presented to the verify API${by ? ` (asked${by})` : ''}`;
    case 'slack_message': {
      const place = t.place?.kind === 'slack_message' ? t.place : undefined;
      if (!place) return 'seen in a Slack message';
      const poster = place.postedBy ? ` by <@${place.postedBy}>` : '';
      return `posted in <#${place.channel}>${poster} (rekey did not answer in the channel)`;
    }
    case 'scanner': {
      const place = t.place?.kind === 'scanner' ? t.place : undefined;
      if (!place) return 'reported by a secret scanner';
      return `reported by the scanner ${quoted(place.source, 60)} at ${quoted(place.url, 300)}`;
    }
    default:
      return 'presented';
  }
}

function details(item: CanaryAlarmItem): string {
  const t = item.latest;
  if (!t) {
    return `${item.tries === 1 ? 'Its details were' : 'Their details were'} not kept: tries came faster than rekey could write them down, and only their number was.`;
  }
  const lines = [
    `*${item.tries === 1 ? 'When' : 'Latest'}:* ${slackDate(t.triedAt)}, ${how(t)}`,
    `*From:* ${t.clientIp ? quoted(t.clientIp, 45) : '_no client address passed on_'}${t.userAgent ? `, user agent ${quoted(t.userAgent)}` : ''}`,
  ];
  if (t.via === 'slack_message' || t.via === 'scanner') lines.pop();
  return lines.join('\n');
}

/**
 * The alarm for one or more canaries, to their alert channel or a maintainer's DM. Pure. It says what
 * a canary is (people may have forgotten planting it), what came in, and what to do; everything the
 * intruder controls is escaped and quoted.
 */
export function buildCanaryAlarmMessage(
  items: CanaryAlarmItem[],
  options: { audience: 'channel' | 'dm' },
): { text: string; blocks: KnownBlock[] } {
  if (items.length === 0 || items.length > CANARY_ALARMS_PER_MESSAGE) {
    throw new RangeError(
      `a canary alarm holds 1 to ${CANARY_ALARMS_PER_MESSAGE} canaries, not ${items.length}`,
    );
  }
  const whose = options.audience === 'dm' ? ' (you maintain it)' : '';
  const title =
    items.length === 1
      ? `Canary key ${items[0]!.keyName} was tried${whose}`
      : `${items.length} canary keys were tried${whose}`;
  const blocks: KnownBlock[] = [{ type: 'header', text: plain(clip(title, 150)) }];
  for (const item of items) {
    blocks.push({
      type: 'section',
      text: mrkdwn(clip(`${headline(item)} Its key \`${item.display}\`\n${details(item)}`)),
    });
  }
  const quietMinutes = Math.round(CANARY_QUIET_MS / 60_000);
  blocks.push({
    type: 'context',
    elements: [
      mrkdwn(
        `A canary is a decoy key: nobody legitimate uses it, so whoever presented it found it where it was planted. rekey answered as for any unknown key (NOT_FOUND), so they cannot tell. *What to do:* treat the place it was planted as leaked — find what else is kept there and rotate it. At most one alarm per canary every ${quietMinutes} minutes; the next one counts the tries in between.`,
      ),
    ],
  });
  const text =
    items.length === 1
      ? items[0]!.previousAt === null
        ? `Canary key ${items[0]!.keyName} was tried`
        : `Canary key ${items[0]!.keyName}: ${moreTries(items[0]!.tries)} since the last alarm`
      : `${items.length} canary keys were tried`;
  return { text, blocks };
}
