import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import type { EndGraceResult } from '../../services/end-grace.ts';
import { decodeLeakSecretValue, encodeLeakSecretValue } from '../blocks/leak-messages.ts';
import { buildNoticeModal } from '../blocks/notice-modal.ts';
import { escapeMrkdwn } from '../blocks/text.ts';
import { postEndGraceNotice } from '../deliver.ts';
import type { SlackDeps } from '../deps.ts';
import { logFailure, userMessageFor } from '../slack-errors.ts';

type SubmitArgs = SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs;

/**
 * "End it now" in End this key now…'s confirmation: the end-grace path for exactly the leaked old
 * secret the dialog named, whatever rotations happened since; the current key is never touched. The
 * service checks again, inside its transaction, that this person may end it. One end per dialog and
 * person (a double click ends once), audited like any end of grace, announced in the alert channel.
 */
export function handleEndLeakedKeySubmit(deps: SlackDeps) {
  return async ({ ack, body, view }: SubmitArgs) => {
    const userId = body.user.id;
    const meta = readMetadata(view.private_metadata);
    if (!meta) {
      const text = 'This dialog is out of date. Nothing was changed.';
      await ack({ response_action: 'update', view: buildNoticeModal({ title: 'Nothing changed', text }) });
      return;
    }
    let result: EndGraceResult;
    try {
      result = await deps.services.endGrace({
        key: { id: meta.keyId },
        actor: { id: userId, source: 'slack' },
        acknowledged: true,
        onlySecretId: meta.secretId,
        requestId: `slack:end-leaked:${view.id}:${userId}`,
        lockTimeoutMs: 1_500,
      });
    } catch (error) {
      logFailure(deps, error, { method: 'views.update', userId }, 'ending a leaked old key failed');
      const text = `:warning: ${userMessageFor(error, 'submit')}`;
      await ack({ response_action: 'update', view: buildNoticeModal({ title: 'Key not ended', text }) });
      return;
    }
    if (result.status === 'duplicate') {
      const text =
        'This old key was already ended from this dialog (a second click). Nothing more was changed.';
      await ack({ response_action: 'update', view: buildNoticeModal({ title: 'Already ended', text }) });
      return;
    }
    const [ended] = result.ended;
    const current = result.key.current
      ? ` The current key \`${result.key.current.display}\` is untouched.`
      : '';
    const text = `:white_check_mark: The leaked old key \`${ended?.display}\` of *${escapeMrkdwn(result.key.name)}* stopped working now.${current}`;
    await ack({ response_action: 'update', view: buildNoticeModal({ title: 'Key ended', text }) });
    deps.logger.info(
      { keyId: result.key.id, keyName: result.key.name, userId },
      'leaked old key ended from Slack',
    );
    await postEndGraceNotice(deps, { result, userId });
  };
}

function readMetadata(text: string): { keyId: string; secretId: string } | null {
  try {
    const value = JSON.parse(text) as { keyId?: unknown; secretId?: unknown };
    if (typeof value.keyId !== 'string' || typeof value.secretId !== 'string') return null;
    return decodeLeakSecretValue(encodeLeakSecretValue(value.keyId, value.secretId));
  } catch {
    return null;
  }
}
