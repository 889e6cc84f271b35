import type { ModalView } from '@slack/types';
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
