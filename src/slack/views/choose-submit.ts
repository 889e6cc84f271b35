import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import { buildReviewModal } from '../blocks/review-modal.ts';
import type { SlackDeps } from '../deps.ts';
import { ids } from '../ids.ts';
import { encodeReviewMetadata, readChooseState } from '../modal-state.ts';
import { logFailure, userMessageFor } from '../slack-errors.ts';

type SubmitArgs = SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs;

/**
 * "Next": check the acknowledgement and the choices, then replace the modal with the review. Problems
 * come back as `errors` on the input block concerned, so the modal keeps what the user entered.
 */
export function handleChooseSubmit(deps: SlackDeps) {
  return async ({ ack, body, view }: SubmitArgs) => {
    const userId = body.user.id;
    const choice = readChooseState(view);
    const errors: Record<string, string> = {};
    if (!choice.keyId) errors[ids.blocks.key] = 'Choose the key to rotate.';
    if (!choice.delay) errors[ids.blocks.delay] = 'Choose when the old key should stop working.';
    if (!choice.acknowledged)
      errors[ids.blocks.ack] = 'Please confirm that you understand rotation cannot be undone.';
    if (!choice.keyId || !choice.delay || !choice.acknowledged) {
      await ack({ response_action: 'errors', errors });
      return;
    }
    try {
      const { key, expiresAt } = await deps.services.reviewRotation({
        userId,
        keyId: choice.keyId,
        delay: choice.delay,
      });
      const privateMetadata = encodeReviewMetadata({
        keyId: key.id,
        delay: choice.delay,
        acknowledged: true,
      });
      const review = buildReviewModal({ key, delay: choice.delay, expiresAt, privateMetadata });
      await ack({ response_action: 'update', view: review });
    } catch (error) {
      logFailure(deps, error, { method: 'views.update', userId }, 'the rotation review failed');
      const message = userMessageFor(error, 'next');
      await ack({ response_action: 'errors', errors: { [ids.blocks.key]: message } });
    }
  };
}
