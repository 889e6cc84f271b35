import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { keyFieldsVersion } from '../../services/key-fields.ts';
import { buildDeleteKeyModal } from '../blocks/delete-key-modal.ts';
import { buildEditKeyModal } from '../blocks/edit-key-modal.ts';
import { buildNewKeyModal } from '../blocks/new-key-modal.ts';
import type { SlackDeps } from '../deps.ts';
import { encodeKeyDialogMetadata } from '../modal-state.ts';
import { explain, explainFailure, openKeyDialog } from './home-actions.ts';

type ButtonArgs = SlackActionMiddlewareArgs<BlockButtonAction> & AllMiddlewareArgs;

/**
 * "New key…" (admins). Whether the person is still an admin is checked here and again when they
 * submit; the dialog carries nothing but its inputs.
 */
export function handleHomeNewKey(deps: SlackDeps) {
  return async ({ ack, body }: ButtonArgs) => {
    await ack();
    try {
      if (!deps.services.isAdmin(body.user.id)) {
        await explain(deps, body, {
          title: 'Cannot create keys',
          text: 'Only rekey admins can create keys. Ask a rekey admin.',
        });
        return;
      }
      await deps.client.views.open({ trigger_id: body.trigger_id, view: buildNewKeyModal() });
    } catch (error) {
      await explainFailure(deps, body, error, 'Cannot create a key');
    }
  };
}

/**
 * "Edit…" on a card: every field for admins, the rotation policy for a maintainer. The dialog carries
 * the key's id and a fingerprint of its fields as shown, so saving over someone else's change is refused.
 */
export function handleHomeEdit(deps: SlackDeps) {
  return openKeyDialog(deps, {
    action: 'edit',
    failureTitle: 'Cannot edit',
    view: (key, userId) =>
      buildEditKeyModal({
        key,
        isAdmin: deps.services.isAdmin(userId),
        privateMetadata: encodeKeyDialogMetadata({ keyId: key.id, version: keyFieldsVersion(key) }),
      }),
  });
}

/** "Delete…" on a card (admins): the dialog that asks for the key's name. */
export function handleHomeDelete(deps: SlackDeps) {
  return openKeyDialog(deps, {
    action: 'delete',
    failureTitle: 'Cannot delete',
    view: (key) => buildDeleteKeyModal({ key, privateMetadata: encodeKeyDialogMetadata({ keyId: key.id }) }),
  });
}
