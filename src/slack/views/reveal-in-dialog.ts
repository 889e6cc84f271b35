import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import type { View } from '@slack/types';
import type { SlackDeps } from '../deps.ts';

type SubmitArgs = SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs;

/**
 * Puts a new key's reveal into the dialog that asked for it. When the work outlasted Slack's 3 s, Bolt
 * has already answered for us and `ack` throws: the key is committed and must not be lost, so the reveal
 * goes into the still-open dialog through the Web API instead. The key is also sent privately by the
 * caller, whatever happens here. Logs name the key and the person, never the key string.
 */
export async function revealInDialog(
  deps: SlackDeps,
  submit: Pick<SubmitArgs, 'ack' | 'view'>,
  reveal: View,
  context: { keyId: string; userId: string; what: string },
): Promise<void> {
  const { keyId, userId, what } = context;
  try {
    await submit.ack({ response_action: 'update', view: reveal });
  } catch (error) {
    deps.logger.warn({ err: error, keyId, userId }, `${what} answered late; showing the key by views.update`);
    await deps.client.views
      .update({ view_id: submit.view.id, view: reveal })
      .catch((updateError: unknown) => {
        deps.logger.error(
          { err: updateError, keyId, userId },
          'could not show the new key in the modal; it is still sent privately',
        );
      });
  }
}
