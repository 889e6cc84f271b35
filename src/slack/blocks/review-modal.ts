import type { ModalView } from '@slack/types';
import type { Delay } from '../../keys/delay.ts';
import type { KeySummary } from '../../services/types.ts';
import { ids } from '../ids.ts';
import { expiryPhrase } from './slack-time.ts';
import { escapeMrkdwn, mrkdwn, plain } from './text.ts';

/**
 * Step 2: what is about to happen, before the irreversible click. `expiresAt` is now + delay at review
 * time; the rotation itself computes it again when it happens.
 */
export function buildReviewModal(input: {
  key: KeySummary;
  delay: Delay;
  expiresAt: Date;
  privateMetadata: string;
}): ModalView {
  const { key, delay } = input;
  const products = key.products.length > 0 ? key.products.map(escapeMrkdwn).join(', ') : '_none_';
  const oldKey = key.current ? `\`${key.current.display}\`` : '_none_';
  const when =
    delay === 'now'
      ? `*immediately* — ${expiryPhrase(input.expiresAt, delay)}. :warning: There is no transition time.`
      : expiryPhrase(input.expiresAt, delay);
  return {
    type: 'modal',
    callback_id: ids.views.review,
    title: plain('Review rotation'),
    submit: plain('Rotate key'),
    close: plain('Cancel'),
    private_metadata: input.privateMetadata,
    blocks: [
      {
        type: 'section',
        fields: [
          mrkdwn(`*Key*\n${escapeMrkdwn(key.name)}`),
          mrkdwn(`*Products*\n${products}`),
          mrkdwn(`*Old key*\n${oldKey}`),
          mrkdwn(`*Old key stops working*\n${when}`),
        ],
      },
      {
        type: 'section',
        text: mrkdwn(
          'Make sure you have enough time to deploy the new key before the old one stops working. :hourglass:',
        ),
      },
      {
        type: 'section',
        text: mrkdwn(
          ':key: *The new key is shown once, only to you.* Have somewhere safe ready to paste it (a secrets manager).',
        ),
      },
      {
        type: 'context',
        elements: [mrkdwn(':warning: Rotation cannot be undone; an expired key can never be reinstated.')],
      },
    ],
  };
}
