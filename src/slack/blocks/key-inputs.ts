import type { InputBlock, PlainTextOption } from '@slack/types';
import { ON_LEAK, type OnLeak } from '../../keys/on-leak.ts';
import { formatRotateEvery } from '../../keys/rotation-policy.ts';
import type { KeySummary } from '../../services/types.ts';
import { ids } from '../ids.ts';
import { plain } from './text.ts';

/** The rotation policies the dialogs offer; another one set with the CLI is offered too, as it is. */
export const POLICY_CHOICES: readonly (number | null)[] = [null, 30, 60, 90, 180, 365];

/** The value of the "no policy" option (what parseRotateEvery reads as none). */
export const NO_POLICY = 'none';

export function policyLabel(days: number | null): string {
  if (days === null) return 'No rotation policy';
  if (days % 365 === 0)
    return days === 365 ? 'Every year (365 days)' : `Every ${days / 365} years (${days} days)`;
  return `Every ${days} day${days === 1 ? '' : 's'}`;
}

function policyOption(days: number | null): PlainTextOption {
  return { text: plain(policyLabel(days)), value: formatRotateEvery(days) ?? NO_POLICY };
}

export function nameInput(initial?: string): InputBlock {
  return {
    type: 'input',
    block_id: ids.blocks.name,
    label: plain('Name'),
    hint: plain('What people type after /rotate-key: letters, digits, ".", "_" or "-".'),
    element: {
      type: 'plain_text_input',
      action_id: ids.actions.name,
      max_length: 64,
      placeholder: plain('payments-api'),
      ...(initial ? { initial_value: initial } : {}),
    },
  };
}

export function productsInput(initial: readonly string[] = []): InputBlock {
  return {
    type: 'input',
    block_id: ids.blocks.products,
    optional: true,
    label: plain('Products'),
    hint: plain('Comma-separated. A gateway can require one of them (X-Rekey-Product).'),
    element: {
      type: 'plain_text_input',
      action_id: ids.actions.products,
      placeholder: plain('payments, refunds'),
      ...(initial.length > 0 ? { initial_value: initial.join(', ') } : {}),
    },
  };
}

export function maintainersInput(initial: readonly string[] = []): InputBlock {
  return {
    type: 'input',
    block_id: ids.blocks.maintainers,
    label: plain('Maintainers'),
    hint: plain('They can rotate the key and see it on their Home; rekey admins can too.'),
    element: {
      type: 'multi_users_select',
      action_id: ids.actions.maintainers,
      placeholder: plain('Choose people'),
      ...(initial.length > 0 ? { initial_users: [...initial] } : {}),
    },
  };
}

export function channelInput(initial: string | null = null): InputBlock {
  return {
    type: 'input',
    block_id: ids.blocks.channel,
    optional: true,
    label: plain('Alert channel'),
    hint: plain('Rotations, reminders and changes are announced here. Invite @rekey if it is private.'),
    element: {
      type: 'conversations_select',
      action_id: ids.actions.channel,
      placeholder: plain('Choose a channel'),
      filter: { include: ['public', 'private'], exclude_bot_users: true },
      ...(initial ? { initial_conversation: initial } : {}),
    },
  };
}

export function policyInput(initial: number | null = null): InputBlock {
  const choices = POLICY_CHOICES.includes(initial) ? POLICY_CHOICES : [...POLICY_CHOICES, initial];
  return {
    type: 'input',
    block_id: ids.blocks.policy,
    label: plain('Rotation policy'),
    hint: plain('Rotation is due this long after the last one. Other periods (1d–730d): rekey keys policy.'),
    element: {
      type: 'static_select',
      action_id: ids.actions.policy,
      options: choices.map(policyOption),
      initial_option: policyOption(initial),
    },
  };
}

const ON_LEAK_LABELS: Record<OnLeak, string> = {
  notify: 'Tell its maintainers and channel',
  'rotate-1h': 'Rotate it, old key works 1 more hour',
  'rotate-now': 'Rotate it at once, old key stops',
};

export function onLeakLabel(onLeak: OnLeak): string {
  return ON_LEAK_LABELS[onLeak];
}

/** What rekey does by itself when a working key string of the key is reported leaked. */
export function onLeakInput(initial: OnLeak = 'notify'): InputBlock {
  const option = (value: OnLeak): PlainTextOption => ({ text: plain(ON_LEAK_LABELS[value]), value });
  return {
    type: 'input',
    block_id: ids.blocks.onLeak,
    label: plain('When it is reported leaked'),
    hint: plain('Rotating by itself: the new key is shown to the first maintainer who presses Reveal.'),
    element: {
      type: 'static_select',
      action_id: ids.actions.onLeak,
      options: ON_LEAK.map(option),
      initial_option: option(initial),
    },
  };
}

/** The fields as a dialog shows them, in the order people read them (a canary has no policy to set). */
export function keyFieldInputs(key?: KeySummary): InputBlock[] {
  return [
    nameInput(key?.name),
    productsInput(key?.products),
    maintainersInput(key?.maintainers),
    channelInput(key?.alertChannel ?? null),
    ...(key?.canary ? [] : [policyInput(key?.rotateEveryDays ?? null), onLeakInput(key?.onLeak)]),
  ];
}
