import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import { isOnLeak, ON_LEAK_TEXT } from '../../keys/on-leak.ts';
import { parseRotateEvery } from '../../keys/rotation-policy.ts';
import type { EditKeyResult } from '../../services/edit-key.ts';
import type { KeyFields } from '../../services/key-fields.ts';
import { describeKeyEdit } from '../blocks/messages.ts';
import { buildNoticeModal } from '../blocks/notice-modal.ts';
import { escapeMrkdwn } from '../blocks/text.ts';
import { postKeyEditedNotice } from '../deliver.ts';
import type { SlackDeps } from '../deps.ts';
import { ids } from '../ids.ts';
import { decodeKeyDialogMetadata, readKeyFormState } from '../modal-state.ts';
import { logFailure, userMessageFor } from '../slack-errors.ts';
import { formErrors, shownInputs } from './form-errors.ts';

type SubmitArgs = SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs;

/**
 * "Save" in Edit. The service decides, on the locked key, who may change which field (admins: all;
 * maintainers: the policy) and refuses to save over a change made since the dialog opened. Bad input
 * and duplicate names come back next to their input; a refusal replaces the dialog with what to do.
 */
export function handleEditKeySubmit(deps: SlackDeps) {
  return async ({ ack, body, view }: SubmitArgs) => {
    const userId = body.user.id;
    const meta = decodeKeyDialogMetadata(view.private_metadata);
    if (!meta) {
      const text = 'This dialog is out of date. Nothing was changed. Press Edit… on your Home again.';
      await ack({ response_action: 'update', view: buildNoticeModal({ title: 'Nothing changed', text }) });
      return;
    }
    const { policy: policyText, onLeak, ...form } = readKeyFormState(view);
    const changes: Partial<KeyFields> = { ...form };
    if (onLeak !== undefined) {
      if (!isOnLeak(onLeak)) {
        await ack({
          response_action: 'errors',
          errors: { [ids.blocks.onLeak]: `Choose one of ${ON_LEAK_TEXT}.` },
        });
        return;
      }
      changes.onLeak = onLeak;
    }
    if (policyText !== undefined) {
      const policy = parseRotateEvery(policyText || 'none');
      if (!policy.ok) {
        await ack({ response_action: 'errors', errors: { [ids.blocks.policy]: policy.message } });
        return;
      }
      changes.rotateEveryDays = policy.days;
    }
    let result: EditKeyResult;
    try {
      result = await deps.services.editKey({
        key: { id: meta.keyId },
        actor: { id: userId, source: 'slack' },
        changes,
        seenVersion: meta.version,
        lockTimeoutMs: 1_500,
      });
    } catch (error) {
      logFailure(deps, error, { method: 'views.update', userId }, 'editing a key from Slack failed');
      const errors = formErrors(error, shownInputs(view));
      if (errors) await ack({ response_action: 'errors', errors });
      else {
        const text = `:warning: ${userMessageFor(error, 'submit')}`;
        await ack({ response_action: 'update', view: buildNoticeModal({ title: 'Key not changed', text }) });
      }
      return;
    }
    const name = `*${escapeMrkdwn(result.key.name)}*`;
    if (result.status === 'unchanged') {
      const text = `Nothing to save: ${name} already is as this dialog shows it.`;
      await ack({ response_action: 'update', view: buildNoticeModal({ title: 'No changes', text }) });
      return;
    }
    const lines = describeKeyEdit(result.before, result.after).map((line) => `• ${line}`);
    const announced = result.key.alertChannel ? `\nAnnounced in <#${result.key.alertChannel}>.` : '';
    const text = `:white_check_mark: ${name} is saved:\n${lines.join('\n')}${announced}`;
    await ack({ response_action: 'update', view: buildNoticeModal({ title: 'Key saved', text }) });
    deps.logger.info(
      { keyId: result.key.id, keyName: result.key.name, userId, fields: Object.keys(result.after) },
      'key edited from Slack',
    );
    await postKeyEditedNotice(deps, { result, userId });
  };
}
