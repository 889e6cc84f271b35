import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import { isAppError } from '../../errors.ts';
import type { DeletedKey } from '../../services/delete-key.ts';
import { buildNoticeModal } from '../blocks/notice-modal.ts';
import { escapeMrkdwn } from '../blocks/text.ts';
import { postKeyDeletedNotice } from '../deliver.ts';
import type { SlackDeps } from '../deps.ts';
import { decodeKeyDialogMetadata, readConfirmName } from '../modal-state.ts';
import { logFailure, userMessageFor } from '../slack-errors.ts';
import { formErrors, shownInputs } from './form-errors.ts';

type SubmitArgs = SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs;

/**
 * "Delete key": deletes only if the typed name is the key's name as it is now (compared by the service
 * on the locked key, which also checks again that the person is an admin). A wrong name stays in the
 * dialog with the error under it, and nothing is deleted.
 */
export function handleDeleteKeySubmit(deps: SlackDeps) {
  return async ({ ack, body, view }: SubmitArgs) => {
    const userId = body.user.id;
    const meta = decodeKeyDialogMetadata(view.private_metadata);
    if (!meta) {
      const text = 'This dialog is out of date. Nothing was deleted. Press Delete… on your Home again.';
      await ack({ response_action: 'update', view: buildNoticeModal({ title: 'Nothing deleted', text }) });
      return;
    }
    let deleted: DeletedKey | undefined;
    try {
      // Key names hold no spaces, so spaces around a pasted name change nothing about which key it is.
      deleted = await deps.services.deleteKey({
        key: { id: meta.keyId },
        actor: { id: userId, source: 'slack' },
        confirmName: readConfirmName(view).trim(),
        lockTimeoutMs: 1_500,
      });
    } catch (error) {
      logFailure(deps, error, { method: 'views.update', userId }, 'deleting a key from Slack failed');
      const errors = formErrors(error, shownInputs(view));
      if (errors) {
        await ack({ response_action: 'errors', errors });
        return;
      }
      // Already deleted (a second click, or another admin): the outcome the person wanted.
      const already = isAppError(error, 'KEY_DELETED');
      const text = already
        ? 'This key is already deleted: its keys no longer work.'
        : `:warning: ${userMessageFor(error, 'submit')}`;
      const title = already ? 'Already deleted' : 'Key not deleted';
      await ack({ response_action: 'update', view: buildNoticeModal({ title, text }) });
      return;
    }
    const name = deleted ? `*${escapeMrkdwn(deleted.name)}*` : 'The key';
    const text = `:wastebasket: ${name} is deleted: its keys stopped working at once (verify answers \`NOT_FOUND\`). Its history is kept, and its name can be given to a new key.`;
    await ack({ response_action: 'update', view: buildNoticeModal({ title: 'Key deleted', text }) });
    if (deleted) {
      deps.logger.info({ keyId: deleted.id, keyName: deleted.name, userId }, 'key deleted from Slack');
      await postKeyDeletedNotice(deps, { key: deleted, userId });
    }
  };
}
