import type { InputBlock, ModalView } from '@slack/types';
import { ids } from '../ids.ts';
import { keyFieldInputs } from './key-inputs.ts';
import { mrkdwn, plain } from './text.ts';

/** App Home's New key… (admins): the key's fields; its string is shown once after "Create key". */
export function buildNewKeyModal(): ModalView {
  return {
    type: 'modal',
    callback_id: ids.views.newKey,
    title: plain('New key'),
    submit: plain('Create key'),
    close: plain('Cancel'),
    blocks: [
      ...keyFieldInputs(),
      canaryInput(),
      {
        type: 'context',
        elements: [
          mrkdwn(
            ':lock: The new key is shown once, only to you, here and as a private message. rekey keeps only its hash.',
          ),
        ],
      },
    ],
  };
}

/** The Canary choice: a decoy key, fixed for its life (docs/architecture.md#canary-keys). */
function canaryInput(): InputBlock {
  return {
    type: 'input',
    block_id: ids.blocks.canary,
    optional: true,
    label: plain('Canary'),
    hint: plain(
      'Cannot be changed later. A canary takes no rotation policy and is never rotated; its alarms go to the alert channel and its maintainers.',
    ),
    element: {
      type: 'checkboxes',
      action_id: ids.actions.canary,
      options: [
        {
          text: plain('Make it a canary (a decoy key)'),
          description: plain(
            'Never valid: answered like an unknown key. Plant it where an intruder would look; every use raises an alarm.',
          ),
          value: ids.canaryValue,
        },
      ],
    },
  };
}
