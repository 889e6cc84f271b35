import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { buildErrorMessage } from '../blocks/messages.ts';
import type { SlackDeps } from '../deps.ts';
import { prepareRotateKeyModal } from '../rotate-key-opening.ts';
import { logFailure, recordSlackError, userMessageFor } from '../slack-errors.ts';

type ButtonArgs = SlackActionMiddlewareArgs<BlockButtonAction> & AllMiddlewareArgs;

/**
 * "Rotate now…" on a leak's thread reply, DM or channel notice: the rotation dialog for that key with
 * Immediately chosen and the reason said. Anyone in the channel can press it; who may rotate is
 * checked now (and again at the final step), and someone who may not is told, only them, who can.
 */
export function handleLeakRotateNow(deps: SlackDeps) {
  return async ({ ack, body, action }: ButtonArgs) => {
    await ack();
    const userId = body.user.id;
    try {
      const opening = await prepareRotateKeyModal(deps, userId, { keyId: action.value ?? '', leaked: true });
      if ('message' in opening) return await tellOnly(deps, body, opening.message.text);
      await deps.client.views.open({ trigger_id: body.trigger_id, view: opening.view });
    } catch (error) {
      logFailure(deps, error, { method: 'views.open', userId }, 'Rotate now… could not open the rotation');
      await tellOnly(deps, body, userMessageFor(error, 'button'));
    }
  };
}

/** An ephemeral reply where the button was pressed: a thread, a channel or the DM with rekey. */
async function tellOnly(deps: SlackDeps, body: BlockButtonAction, text: string): Promise<void> {
  const channel = body.channel?.id;
  if (!channel) return;
  try {
    await deps.client.chat.postEphemeral({
      channel,
      user: body.user.id,
      ...(body.message?.thread_ts ? { thread_ts: body.message.thread_ts } : {}),
      ...buildErrorMessage(text),
    });
  } catch (error) {
    deps.logger.warn(
      recordSlackError(deps, 'chat.postEphemeral', error),
      'could not tell the user why Rotate now… did nothing',
    );
  }
}
