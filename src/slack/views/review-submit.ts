import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import type { RotationResult } from '../../services/types.ts';
import { buildNoticeModal } from '../blocks/notice-modal.ts';
import { buildRevealModal } from '../blocks/reveal-modal.ts';
import { deliverNewKey, postRotationNotice } from '../deliver.ts';
import type { SlackDeps } from '../deps.ts';
import { decodeReviewMetadata, rotationRequestId } from '../modal-state.ts';
import { logFailure, userMessageFor } from '../slack-errors.ts';
import { revealInDialog } from './reveal-in-dialog.ts';

type SubmitArgs = SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs;

/**
 * "Rotate key". The rotation is one short transaction (it gives up waiting for the key's lock after
 * 1.5 s), so it runs before the acknowledgement and the modal is updated in the same HTTP answer, well
 * inside Slack's 3 s. If it still answers late, the key goes into the modal by views.update instead.
 * The services re-check who may rotate inside that transaction. Slack calls that may wait (rate
 * limits) come after the answer.
 */
export function handleReviewSubmit(deps: SlackDeps) {
  return async ({ ack, body, view }: SubmitArgs) => {
    const userId = body.user.id;
    const meta = decodeReviewMetadata(view.private_metadata);
    if (!meta) {
      const text = 'This dialog is out of date. Nothing was changed. Please run `/rotate-key` again.';
      await ack({ response_action: 'update', view: buildNoticeModal({ title: 'Nothing changed', text }) });
      return;
    }
    let result: RotationResult;
    try {
      result = await deps.services.rotateKey({
        key: { id: meta.keyId },
        delay: meta.delay,
        actor: { id: userId, source: 'slack' },
        acknowledged: meta.acknowledged,
        requestId: rotationRequestId(view.id, userId),
        lockTimeoutMs: 1_500,
      });
    } catch (error) {
      logFailure(deps, error, { method: 'views.update', userId }, 'a Slack rotation failed');
      const text = `:warning: ${userMessageFor(error, 'rotate')}`;
      await ack({ response_action: 'update', view: buildNoticeModal({ title: 'Key not rotated', text }) });
      return;
    }
    if (result.status === 'duplicate') {
      const text = `*${result.keyName || 'This key'}* was already rotated from this dialog (a second click). The new key was shown once, in this dialog, and sent to you privately in your Messages with rekey; it is not shown again. If you did not copy it, rotate the key again with \`/rotate-key\`.`;
      await ack({ response_action: 'update', view: buildNoticeModal({ title: 'Already rotated', text }) });
      return;
    }
    const { key, oldSecret, token, delay } = result;
    const oldKeyExpiresAt = oldSecret.expiresAt ?? result.rotatedAt;
    const reveal = buildRevealModal({
      keyName: key.name,
      token,
      oldKeyDisplay: oldSecret.display,
      oldKeyExpiresAt,
      delay,
    });
    deps.metrics.rotations.inc({ delay, source: 'slack' });
    deps.logger.info({ keyId: key.id, keyName: key.name, userId, delay }, 'key rotated from Slack');
    await revealInDialog(deps, { ack, view }, reveal, { keyId: key.id, userId, what: 'rotation' });
    await Promise.all([
      deliverNewKey(deps, { userId, keyName: key.name, token }),
      postRotationNotice(deps, { result, userId, oldKeyExpiresAt }),
    ]);
  };
}
