import type { AllMiddlewareArgs, RespondFn, SlackCommandMiddlewareArgs } from '@slack/bolt';
import { TOKEN_LIKE } from '../../keys/token.ts';
import { buildErrorMessage, buildHelpMessage, type SlackMessage } from '../blocks/messages.ts';
import type { SlackDeps } from '../deps.ts';
import { prepareRotateKeyModal } from '../rotate-key-opening.ts';
import { logFailure, userMessageFor } from '../slack-errors.ts';

type CommandArgs = SlackCommandMiddlewareArgs & AllMiddlewareArgs;

/** A key string typed where a key's name belongs (a paste into the wrong box). */
const KEY_STRING = new RegExp(TOKEN_LIKE.source);

const KEY_TYPED_AS_NAME =
  'That looks like an API key, not the name of one, so rekey did not look it up (it never repeats a key string in Slack). ' +
  'Type the key’s name, e.g. `/rotate-key payments-api`. If that key string is real, treat it as exposed and rotate its key.';

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
    // Echoed back in "no key named …", a pasted key string would travel through Slack once more.
    if (KEY_STRING.test(text)) return await reply(deps, respond, buildErrorMessage(KEY_TYPED_AS_NAME));
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
