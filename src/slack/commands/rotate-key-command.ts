import type { AllMiddlewareArgs, RespondFn, SlackCommandMiddlewareArgs } from '@slack/bolt';
import type { ModalView } from '@slack/types';
import { isAppError } from '../../errors.ts';
import { buildErrorMessage, buildHelpMessage, type SlackMessage } from '../blocks/messages.ts';
import { buildRotateKeyModal } from '../blocks/rotate-key-modal.ts';
import { recordSlackError, type SlackDeps } from '../deps.ts';
import { isSlackApiError, userMessageFor } from '../slack-errors.ts';

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
      const opening = await prepareModal(deps, command.user_id, text || undefined);
      if ('message' in opening) return await reply(deps, respond, opening.message);
      await deps.client.views.open({ trigger_id: command.trigger_id, view: opening.view });
    } catch (error) {
      if (isSlackApiError(error)) {
        deps.logger.warn(recordSlackError(deps, 'views.open', error), 'could not open the rotation modal');
      } else if (!isAppError(error)) {
        deps.logger.error({ err: error, userId: command.user_id }, '/rotate-key failed');
      }
      await reply(deps, respond, buildErrorMessage(userMessageFor(error, { step: 'open' })));
    }
  };
}

async function prepareModal(
  deps: SlackDeps,
  userId: string,
  name: string | undefined,
): Promise<{ view: ModalView } | { message: SlackMessage }> {
  const keys = await deps.services.listKeysManageableBy(userId);
  const named = name === undefined ? undefined : keys.find((k) => k.name === name);
  if (name !== undefined && !named) {
    // Throws "no such key" or "deleted" when that is the truth; otherwise the key exists but is not theirs.
    const key = await deps.services.showKey({ name });
    return {
      message: buildErrorMessage(
        `You are not a maintainer of "${key.name}", so you cannot rotate it. Ask one of its maintainers (${key.maintainers.map((m) => `<@${m}>`).join(', ') || 'none yet'}) or a rekey admin.`,
      ),
    };
  }
  if (keys.length === 0) {
    return {
      message: buildErrorMessage(
        'You do not maintain any key, so there is nothing you can rotate. Ask a key’s maintainer or a rekey admin to add you as a maintainer (`rekey keys create … --maintainers`), then run `/rotate-key` again.',
      ),
    };
  }
  return { view: buildRotateKeyModal({ keys, selectedKeyId: named?.id, privateMetadata: '' }) };
}

async function reply(deps: SlackDeps, respond: RespondFn, message: SlackMessage): Promise<void> {
  try {
    await respond({ response_type: 'ephemeral', replace_original: false, ...message });
  } catch (error) {
    deps.logger.warn({ err: error }, 'could not answer /rotate-key through its response_url');
  }
}
