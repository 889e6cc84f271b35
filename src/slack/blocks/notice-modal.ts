import type { ModalView } from '@slack/types';
import { ids } from '../ids.ts';
import { clip, mrkdwn, plain } from './text.ts';

/**
 * A modal that ends the journey with one message saying what happened and what to do next
 * (a failure, or a repeated submission). Close only: nothing left to submit.
 */
export function buildNoticeModal(input: { title: string; text: string }): ModalView {
  return {
    type: 'modal',
    callback_id: ids.views.failure,
    title: plain(input.title),
    close: plain('Close'),
    blocks: [{ type: 'section', text: mrkdwn(clip(input.text)) }],
  };
}
