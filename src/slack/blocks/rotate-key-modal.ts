import type { KnownBlock, ModalView, Option, PlainTextOption } from '@slack/types';
import { DEFAULT_DELAY, DELAYS, type Delay, delayLabel } from '../../keys/delay.ts';
import type { KeySummary } from '../../services/types.ts';
import { ids } from '../ids.ts';
import { mrkdwn, plain } from './text.ts';

/** Slack refuses more than 100 options in a static select. */
export const MAX_KEY_OPTIONS = 100;

function keyOption(key: KeySummary): PlainTextOption {
  // The value is the key's id (a uuid): never anything secret, and short enough for Slack's 75.
  return { text: plain(key.name), value: key.id };
}

export function delayOption(delay: Delay): Option {
  const option: Option = { text: plain(delayLabel(delay)), value: delay };
  if (delay === 'now') {
    return {
      ...option,
      description: plain(
        '⚠️ Emergencies only: no transition time, anything still using the old key fails at once.',
      ),
    };
  }
  return option;
}

/**
 * Step 1 of /rotate-key: which key, how long the old one keeps working, and the acknowledgement that
 * rotation cannot be undone. `keys` are only those the user may rotate. A leak's "Rotate now…" opens
 * it with `initialDelay: 'now'` and a `note` saying why.
 */
export function buildRotateKeyModal(input: {
  keys: KeySummary[];
  selectedKeyId?: string;
  privateMetadata: string;
  initialDelay?: Delay;
  note?: string;
}): ModalView {
  const first = input.keys.slice(0, MAX_KEY_OPTIONS);
  // The preselected key (App Home's "Rotate…" on key 250 of an admin) is always among the options.
  const wanted = input.keys.find((k) => k.id === input.selectedKeyId);
  const shown = wanted && !first.includes(wanted) ? [...first.slice(0, MAX_KEY_OPTIONS - 1), wanted] : first;
  const options = shown.map(keyOption);
  const selected =
    shown.find((k) => k.id === input.selectedKeyId) ?? (shown.length === 1 ? shown[0] : undefined);
  const blocks: KnownBlock[] = [
    ...(input.note ? [{ type: 'section', text: mrkdwn(input.note) } as KnownBlock] : []),
    {
      type: 'section',
      text: mrkdwn(
        ':warning: *Rotation cannot be undone.* The old key stops working when its grace period ends, and an expired key can never be reinstated.',
      ),
    },
    {
      type: 'input',
      block_id: ids.blocks.key,
      label: plain('Key'),
      element: {
        type: 'static_select',
        action_id: ids.actions.key,
        placeholder: plain('Choose a key'),
        options,
        ...(selected ? { initial_option: keyOption(selected) } : {}),
      },
    },
    {
      type: 'input',
      block_id: ids.blocks.delay,
      label: plain('When should the old key stop working?'),
      hint: plain('Leave enough time to deploy the new key everywhere the old one is used.'),
      element: {
        type: 'radio_buttons',
        action_id: ids.actions.delay,
        options: DELAYS.map(delayOption),
        initial_option: delayOption(input.initialDelay ?? DEFAULT_DELAY),
      },
    },
    {
      type: 'input',
      block_id: ids.blocks.ack,
      label: plain('Confirm'),
      element: {
        type: 'checkboxes',
        action_id: ids.actions.ack,
        options: [{ text: plain('I understand that rotation cannot be undone'), value: ids.ackValue }],
      },
    },
  ];
  if (input.keys.length > shown.length) {
    blocks.push({
      type: 'context',
      elements: [
        mrkdwn(`Only the first ${MAX_KEY_OPTIONS} keys are listed. Use \`/rotate-key <name>\` for another.`),
      ],
    });
  }
  return {
    type: 'modal',
    callback_id: ids.views.choose,
    title: plain('Rotate a key'),
    submit: plain('Next'),
    close: plain('Cancel'),
    private_metadata: input.privateMetadata,
    blocks,
  };
}
