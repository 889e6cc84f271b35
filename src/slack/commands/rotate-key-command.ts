import type { AllMiddlewareArgs, RespondFn, SlackCommandMiddlewareArgs } from '@slack/bolt';
import { buildErrorMessage, buildHelpMessage, type SlackMessage } from '../blocks/messages.ts';
import type { SlackDeps } from '../deps.ts';
import { prepareRotateKeyModal } from '../rotate-key-opening.ts';
import { logFailure, userMessageFor } from '../slack-errors.ts';

type CommandArgs = SlackCommandMiddlewareArgs & AllMiddlewareArgs;

/**
 * `/rotate-key [name|help]`. Acknowledge at once (Slack waits 3 s), then look the keys up and open the
 * modal with the trigger (valid 3 s, once). Every dead end is an ephemeral message saying what to do.
 */
export function handleRotateKeyCommand(deps: SlackDeps) {
  return async ({ command, ack, respond }: CommandArgs) => {
    const text = command.text.trim();
    if (text === 'help') {
      await ack({ response_type: 'ephemeral', ...buildHelpMessage() });
      return;
    }
    await ack();
    try {
      const opening = await prepareRotateKeyModal(deps, command.user_id, { name: text || undefined });
      if ('message' in opening) return await reply(deps, respond, opening.message);
      await deps.client.views.open({ trigger_id: command.trigger_id, view: opening.view });
    } catch (error) {
      logFailure(
        deps,
        error,
        { method: 'views.open', userId: command.user_id },
        '/rotate-key could not open the rotation modal',
      );
      await reply(deps, respond, buildErrorMessage(userMessageFor(error, 'open')));
    }
  };
}

async function reply(deps: SlackDeps, respond: RespondFn, message: SlackMessage): Promise<void> {
  try {
    await respond({ response_type: 'ephemeral', replace_original: false, ...message });
  } catch (error) {
    deps.logger.warn({ err: error }, 'could not answer /rotate-key through its response_url');
  }
}
