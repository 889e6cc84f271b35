import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { buildEndLeakedKeyModal, decodeLeakSecretValue } from '../blocks/leak-messages.ts';
import { buildErrorMessage } from '../blocks/messages.ts';
import { buildCreatedKeyModal } from '../blocks/reveal-modal.ts';
import { slackDate } from '../blocks/slack-time.ts';
import { deliverNewKey } from '../deliver.ts';
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

/**
 * "End this key now…" on a message about a leaked OLD key: a confirmation naming exactly that key, whose
 * submission ends it (views/end-leaked-key-submit.ts) and nothing else — the current key and the
 * clients already on it are untouched. Who may end it is checked now and again in the service.
 */
export function handleLeakEndKey(deps: SlackDeps) {
  return async ({ ack, body, action }: ButtonArgs) => {
    await ack();
    const userId = body.user.id;
    const ids = decodeLeakSecretValue(action.value);
    try {
      if (!ids) return await tellOnly(deps, body, 'This button is out of date. Nothing was changed.');
      const key = await deps.services.keyToManage({
        userId,
        key: { id: ids.keyId },
        action: 'end-grace',
        stranger: true,
      });
      const leaked = key.inGrace.find((secret) => secret.id === ids.secretId);
      if (!leaked) {
        return await tellOnly(
          deps,
          body,
          `That old key of "${key.name}" has already stopped working, so there is nothing to end. Nothing was changed.`,
        );
      }
      const view = buildEndLeakedKeyModal({
        keyName: key.name,
        display: leaked.display,
        expiresAt: leaked.expiresAt!,
        currentDisplay: key.current?.display ?? null,
        now: deps.services.clock.now(),
        privateMetadata: JSON.stringify(ids),
      });
      await deps.client.views.open({ trigger_id: body.trigger_id, view });
    } catch (error) {
      logFailure(deps, error, { method: 'views.open', userId }, 'End this key now… could not open');
      await tellOnly(deps, body, userMessageFor(error, 'button'));
    }
  };
}

/**
 * "Reveal the new key" on a maintainer's DM after rekey rotated a leaked key by itself: the first press
 * gets a fresh key (revealNewKey) in a modal and as an ephemeral DM, exactly as after a rotation; any
 * later press, by anyone, is told who got it and when. Never in a message.
 */
export function handleLeakRevealNewKey(deps: SlackDeps) {
  return async ({ ack, body, action }: ButtonArgs) => {
    await ack();
    const userId = body.user.id;
    const ids = decodeLeakSecretValue(action.value);
    try {
      if (!ids) return await tellOnly(deps, body, 'This button is out of date. Nothing was revealed.');
      const result = await deps.services.revealNewKey({
        keyId: ids.keyId,
        secretId: ids.secretId,
        actor: { id: userId, source: 'slack' },
        lockTimeoutMs: 1_500,
      });
      if (result.status === 'already') {
        const to = result.revealedTo === userId ? 'you' : `<@${result.revealedTo}>`;
        return await tellOnly(
          deps,
          body,
          `The new key of "${result.keyName}" was already revealed to ${to} ${slackDate(result.revealedAt)}; it is shown once and not again. Ask them for it, or rotate the key.`,
        );
      }
      if (result.status === 'replaced') {
        return await tellOnly(
          deps,
          body,
          `"${result.keyName}" was rotated again since rekey rotated it, so this key is not the current one any more and nothing was revealed. Whoever rotated it was shown its new key.`,
        );
      }
      deps.logger.info(
        { keyId: ids.keyId, keyName: result.keyName, userId },
        'new key revealed after an automatic rotation',
      );
      const view = buildCreatedKeyModal({ keyName: result.keyName, token: result.token });
      await deps.client.views
        .open({
          trigger_id: body.trigger_id,
          view: { ...view, title: { type: 'plain_text', text: 'New key' } },
        })
        .catch((error: unknown) =>
          deps.logger.warn(
            recordSlackError(deps, 'views.open', error),
            'could not show the revealed key in a modal; it is still sent privately',
          ),
        );
      await deliverNewKey(deps, { userId, keyName: result.keyName, token: result.token });
    } catch (error) {
      logFailure(deps, error, { method: 'views.open', userId }, 'Reveal the new key failed');
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
      'could not tell the user why a leak button did nothing',
    );
  }
}
