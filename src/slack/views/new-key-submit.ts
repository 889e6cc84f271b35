import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import { isOnLeak } from '../../keys/on-leak.ts';
import { parseRotateEvery } from '../../keys/rotation-policy.ts';
import type { CreateKeyResult } from '../../services/create-key.ts';
import { buildNoticeModal } from '../blocks/notice-modal.ts';
import { buildCreatedKeyModal } from '../blocks/reveal-modal.ts';
import { deliverNewKey, postKeyCreatedNotice } from '../deliver.ts';
import type { SlackDeps } from '../deps.ts';
import { ids } from '../ids.ts';
import { creationRequestId, readKeyFormState } from '../modal-state.ts';
import { logFailure, userMessageFor } from '../slack-errors.ts';
import { formErrors, shownInputs } from './form-errors.ts';
import { revealInDialog } from './reveal-in-dialog.ts';

type SubmitArgs = SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs;

/**
 * "Create key" (admins). The service checks again that the person is an admin and every field;
 * problems come back next to their input, with nothing created. The new key goes into this dialog and
 * an ephemeral DM exactly like a rotation's, and nowhere else: a second click (same dialog) creates
 * nothing and reveals nothing.
 */
export function handleNewKeySubmit(deps: SlackDeps) {
  return async ({ ack, body, view }: SubmitArgs) => {
    const userId = body.user.id;
    const form = readKeyFormState(view);
    const policy = parseRotateEvery(form.policy || 'none');
    if (!policy.ok) {
      await ack({ response_action: 'errors', errors: { [ids.blocks.policy]: policy.message } });
      return;
    }
    let result: CreateKeyResult;
    try {
      result = await deps.services.createKeyOnce({
        name: form.name ?? '',
        products: form.products ?? [],
        maintainers: form.maintainers ?? [],
        alertChannel: form.alertChannel ?? null,
        rotateEveryDays: policy.days,
        ...(isOnLeak(form.onLeak) ? { onLeak: form.onLeak } : {}),
        canary: form.canary === true,
        actor: { id: userId, source: 'slack' },
        requestId: creationRequestId(view.id, userId),
      });
    } catch (error) {
      logFailure(deps, error, { method: 'views.update', userId }, 'creating a key from Slack failed');
      const errors = formErrors(error, shownInputs(view));
      if (errors) await ack({ response_action: 'errors', errors });
      else {
        const text = `:warning: ${userMessageFor(error, 'submit')}`;
        await ack({ response_action: 'update', view: buildNoticeModal({ title: 'Key not created', text }) });
      }
      return;
    }
    if (result.status === 'duplicate') {
      const text = `*${result.keyName}* was already created from this dialog (a second click). Its key was shown once, in this dialog, and sent to you privately in your Messages with rekey; it is not shown again. If you did not copy it, rotate the key from your Home.`;
      await ack({ response_action: 'update', view: buildNoticeModal({ title: 'Already created', text }) });
      return;
    }
    const { key, token } = result;
    deps.logger.info({ keyId: key.id, keyName: key.name, userId }, 'key created from Slack');
    const reveal = buildCreatedKeyModal({ keyName: key.name, token, canary: key.canary === true });
    await revealInDialog(deps, { ack, view }, reveal, { keyId: key.id, userId, what: 'key creation' });
    await Promise.all([
      deliverNewKey(deps, { userId, keyName: key.name, token }),
      postKeyCreatedNotice(deps, { key, userId }),
    ]);
  };
}
