import type { ModalView } from '@slack/types';
import type { Delay } from '../../keys/delay.ts';
import { ids } from '../ids.ts';
import { expiryPhrase } from './slack-time.ts';
import { escapeMrkdwn, mrkdwn, plain } from './text.ts';

/**
 * Step 3: the new key, shown once. This view and the ephemeral DM are the only two places a key string
 * ever goes; the view has no submit, and its metadata and ids carry nothing secret.
 */
export function buildRevealModal(input: {
  keyName: string;
  token: string;
  oldKeyDisplay: string;
  oldKeyExpiresAt: Date;
  delay: Delay;
}): ModalView {
  return {
    type: 'modal',
    callback_id: ids.views.reveal,
    title: plain('Key rotated'),
    close: plain('Done'),
    blocks: [
      {
        type: 'section',
        text: mrkdwn(`:white_check_mark: *${escapeMrkdwn(input.keyName)}* has a new key. Copy it now:`),
      },
      { type: 'section', text: mrkdwn(`\`\`\`${input.token}\`\`\``) },
      {
        type: 'section',
        text: mrkdwn(
          ':lock: *It will not be shown again.* rekey stores only its hash. Put it in your secrets manager and deploy it.',
        ),
      },
      {
        type: 'section',
        text: mrkdwn(
          `The old key \`${input.oldKeyDisplay}\` stops working ${expiryPhrase(input.oldKeyExpiresAt, input.delay)}.`,
        ),
      },
      {
        type: 'context',
        elements: [
          mrkdwn(
            'A copy is also sent to you privately in your messages with rekey; it disappears when Slack reloads.',
          ),
        ],
      },
    ],
  };
}

/**
 * After "Create key": the new key, shown once, like a rotation's reveal. This view and the ephemeral
 * DM are the only places its string goes.
 */
export function buildCreatedKeyModal(input: { keyName: string; token: string; canary?: boolean }): ModalView {
  return {
    type: 'modal',
    callback_id: ids.views.created,
    title: plain('Key created'),
    close: plain('Done'),
    blocks: [
      {
        type: 'section',
        text: mrkdwn(`:white_check_mark: *${escapeMrkdwn(input.keyName)}* is ready. Copy its key now:`),
      },
      { type: 'section', text: mrkdwn(`\`\`\`${input.token}\`\`\``) },
      {
        type: 'section',
        text: mrkdwn(
          input.canary
            ? ":bird: *It will not be shown again.* It is a canary: it never works. Plant it where an intruder would look (a repository's `.env`, a CI variable, a wiki page); whoever presents it raises an alarm in the key's alert channel and to its maintainers."
            : ':lock: *It will not be shown again.* rekey stores only its hash. Put it in your secrets manager and deploy it.',
        ),
      },
      {
        type: 'context',
        elements: [
          mrkdwn(
            'A copy is also sent to you privately in your messages with rekey; it disappears when Slack reloads.',
          ),
        ],
      },
    ],
  };
}
