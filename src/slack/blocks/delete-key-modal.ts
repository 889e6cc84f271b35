import type { ModalView } from '@slack/types';
import type { KeySummary } from '../../services/types.ts';
import { ids } from '../ids.ts';
import { escapeMrkdwn, mrkdwn, plain } from './text.ts';

/** App Home's Delete… (admins): the consequences, then the key's name typed exactly to confirm. */
export function buildDeleteKeyModal(input: { key: KeySummary; privateMetadata: string }): ModalView {
  const name = escapeMrkdwn(input.key.name);
  const working = 1 + input.key.inGrace.length;
  return {
    type: 'modal',
    callback_id: ids.views.deleteKey,
    title: plain('Delete key'),
    submit: plain('Delete key'),
    close: plain('Cancel'),
    private_metadata: input.privateMetadata,
    blocks: [
      {
        type: 'section',
        text: mrkdwn(
          `:warning: Deleting *${name}* stops ${working === 1 ? 'its key' : `all ${working} of its working keys`} *at once*: every call with ${working === 1 ? 'it' : 'them'} is refused (\`NOT_FOUND\`). This cannot be undone. Its history is kept, and the name can be given to a new key.`,
        ),
      },
      {
        type: 'input',
        block_id: ids.blocks.confirmName,
        label: plain('Type the key’s name to confirm'),
        element: {
          type: 'plain_text_input',
          action_id: ids.actions.confirmName,
          placeholder: plain(input.key.name.slice(0, 150)),
        },
      },
    ],
  };
}
