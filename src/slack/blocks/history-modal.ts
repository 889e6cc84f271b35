import type { KnownBlock, ModalView } from '@slack/types';
import { delayLabel, isDelay } from '../../keys/delay.ts';
import { REKEY_ACTOR } from '../../services/contain-leak.ts';
import type { KeyFields } from '../../services/key-fields.ts';
import type { AuditEntry } from '../../services/types.ts';
import { ids } from '../ids.ts';
import { describeKeyEdit } from './messages.ts';
import { slackDate } from './slack-time.ts';
import { clip, escapeMrkdwn, mrkdwn, plain } from './text.ts';

/** One block per event plus a header and a note stay under Slack's 100 blocks per modal. */
export const MAX_HISTORY_EVENTS = 95;

type HistoryEvent = Pick<
  AuditEntry,
  'action' | 'actor' | 'source' | 'delay' | 'oldSecretDisplay' | 'newSecretDisplay' | 'at'
> & { details?: AuditEntry['details'] };

/** `"90d"` → "every 90 days"; anything else (none) → "no rotation policy". */
function policyWords(value: unknown): string {
  const days = typeof value === 'string' ? Number.parseInt(value, 10) : Number.NaN;
  if (!Number.isInteger(days)) return 'no rotation policy';
  return days === 1 ? 'rotation every day' : `rotation every ${days} days`;
}

/**
 * A key's audit, oldest first: who did what, when, with which grace period, from where. Display
 * forms only. Past the block limit it keeps the latest events and says where to read the rest.
 */
export function buildHistoryModal(input: { keyName: string; events: HistoryEvent[] }): ModalView {
  const { events } = input;
  const shown = events.slice(-MAX_HISTORY_EVENTS);
  const rotations = events.filter((e) => e.action === 'rotate').length;
  const blocks: KnownBlock[] = [
    {
      type: 'section',
      text: mrkdwn(
        `*${escapeMrkdwn(input.keyName)}* — rotated ${rotations} time${rotations === 1 ? '' : 's'}. Oldest first:`,
      ),
    },
  ];
  if (shown.length < events.length) {
    blocks.push({
      type: 'context',
      elements: [
        mrkdwn(
          `Showing the latest ${shown.length} of ${events.length} events; \`rekey keys audit ${escapeMrkdwn(input.keyName)}\` lists them all.`,
        ),
      ],
    });
  }
  if (events.length === 0) {
    blocks.push({ type: 'section', text: mrkdwn('_Nothing has happened to this key yet._') });
  }
  for (const event of shown) blocks.push({ type: 'section', text: mrkdwn(clip(describeEvent(event))) });
  return {
    type: 'modal',
    callback_id: ids.views.history,
    title: plain('Key history'),
    close: plain('Close'),
    blocks,
  };
}

function describeEvent(event: HistoryEvent): string {
  // rekey's own containment of a leak acts as `rekey`, whichever surface the report came from.
  const who =
    event.actor === REKEY_ACTOR
      ? 'rekey by itself (on-leak policy)'
      : event.source === 'slack'
        ? `<@${event.actor}>`
        : escapeMrkdwn(event.actor);
  const from =
    event.source === 'slack'
      ? 'from Slack'
      : event.source === 'cli'
        ? 'from the CLI'
        : `from ${escapeMrkdwn(event.source)}`;
  const by = `by ${who} ${from} · ${slackDate(event.at)}`;
  switch (event.action) {
    case 'rotate': {
      const delay = isDelay(event.delay)
        ? event.delay === 'now'
          ? 'old key stopped immediately'
          : `old key kept working for ${delayLabel(event.delay)}`
        : 'grace period unknown';
      const keys =
        event.oldSecretDisplay && event.newSecretDisplay
          ? `\n\`${event.oldSecretDisplay}\` → \`${event.newSecretDisplay}\``
          : '';
      return `:arrows_counterclockwise: *Rotated* ${by} · ${delay}${keys}`;
    }
    case 'end_grace':
      return `:octagonal_sign: *Grace period ended early* ${by}${event.oldSecretDisplay ? `\nOld key \`${event.oldSecretDisplay}\` stopped working` : ''}`;
    case 'create': {
      const policy = event.details?.rotateEvery;
      return `:sparkles: *Created* ${by}${policy ? ` · ${policyWords(policy)}` : ''}`;
    }
    case 'policy':
      return `:calendar: *Rotation policy changed* ${by}\n${policyWords(event.details?.before)} → ${policyWords(event.details?.after)}`;
    case 'delete':
      return `:wastebasket: *Deleted* ${by}`;
    case 'edit': {
      const { before, after } = (event.details ?? {}) as {
        before?: Partial<KeyFields>;
        after?: Partial<KeyFields>;
      };
      const changes = before && after ? describeKeyEdit(before, after) : [];
      return `:pencil2: *Changed* ${by}${changes.map((c) => `\n${c}`).join('')}`;
    }
    case 'reveal':
      return `:eyes: *New key revealed* to ${who} (the key of rekey's automatic rotation, never shown, was replaced by it) · ${slackDate(event.at)}`;
    case 'leak_reported':
      return event.source === 'slack'
        ? `:rotating_light: *Reported leaked*: posted by <@${event.actor}> in Slack · ${slackDate(event.at)}`
        : `:rotating_light: *Reported leaked*: found by ${escapeMrkdwn(event.actor)} · ${slackDate(event.at)}`;
    default:
      return `*${escapeMrkdwn(event.action)}* ${by}`;
  }
}
