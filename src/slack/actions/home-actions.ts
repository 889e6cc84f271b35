import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { ModalView } from '@slack/types';
import { isAppError } from '../../errors.ts';
import type { KeyToManageInput } from '../../services/key-to-manage.ts';
import type { KeySummary } from '../../services/types.ts';
import { buildHistoryModal } from '../blocks/history-modal.ts';
import { buildErrorMessage } from '../blocks/messages.ts';
import { buildNoticeModal } from '../blocks/notice-modal.ts';
import { postEndGraceNotice } from '../deliver.ts';
import type { SlackDeps } from '../deps.ts';
import { decodeEndGraceValue } from '../end-grace-value.ts';
import { prepareRotateKeyModal } from '../rotate-key-opening.ts';
import { logFailure, recordSlackError, userMessageFor } from '../slack-errors.ts';

type ButtonArgs = SlackActionMiddlewareArgs<BlockButtonAction> & AllMiddlewareArgs;

/** Like a rotation from the dialog: give up on a busy key in time to answer within Slack's 3 s. */
const LOCK_TIMEOUT_MS = 1_500;

const OUT_OF_DATE = (name: string) =>
  `This button for "${name}" is out of date, so nothing was ended. rekey's Home shows the key as it is now: press End grace now there if you still want to end its grace period.`;

/**
 * "Rotate…" on a card: the same first step as `/rotate-key`, with the card's key preselected. Who may
 * rotate is read now, not from the Home the button was on.
 */
export function handleHomeRotate(deps: SlackDeps) {
  return async ({ ack, body, action }: ButtonArgs) => {
    await ack();
    const userId = body.user.id;
    try {
      const opening = await prepareRotateKeyModal(deps, userId, { keyId: action.value ?? '' });
      if ('message' in opening) {
        await explain(deps, body, { title: 'Cannot rotate', text: opening.message.text });
        return;
      }
      await deps.client.views.open({ trigger_id: body.trigger_id, view: opening.view });
    } catch (error) {
      await explainFailure(deps, body, error, 'Cannot rotate');
    }
  };
}

/**
 * "End grace now" — on a Home card, or on a reminder whose old key looks unused (same action, same
 * value shape) — after Slack's confirmation dialog: the old keys the card showed stop at once —
 * exactly those. If the key was rotated since the card was published, nothing ends and the person is
 * told why (their Home is republished with the key as it is). Refused, with the reason, if they no
 * longer maintain the key; the service checks both again inside its transaction. The Home refreshes
 * through the key-change listener.
 */
export function handleHomeEndGrace(deps: SlackDeps) {
  return async ({ ack, body, action }: ButtonArgs) => {
    await ack();
    const userId = body.user.id;
    const { keyId, seen } = decodeEndGraceValue(action.value);
    try {
      const key = await deps.services.keyToManage({ userId, key: { id: keyId }, action: 'end-grace' });
      if (!seen) {
        await explain(deps, body, { title: 'Grace period not ended', text: OUT_OF_DATE(key.name) });
        return;
      }
      const result = await deps.services.endGrace({
        key: { id: key.id },
        actor: { id: userId, source: 'slack' },
        acknowledged: true,
        seen,
        lockTimeoutMs: LOCK_TIMEOUT_MS,
      });
      if (result.status === 'duplicate') return;
      deps.logger.info(
        { keyId: key.id, keyName: key.name, userId, ended: result.ended.length },
        'grace period ended from App Home',
      );
      await postEndGraceNotice(deps, { result, userId });
    } catch (error) {
      await explainFailure(deps, body, error, 'Grace period not ended');
    }
  };
}

/** "History": the key's audit in a modal, for those who may still manage it. */
export function handleHomeHistory(deps: SlackDeps) {
  return openKeyDialog(deps, {
    action: 'history',
    failureTitle: 'History unavailable',
    view: async (key) => buildHistoryModal(await deps.services.keyAudit({ id: key.id })),
  });
}

/**
 * A card button that opens a dialog about its key (History, Edit…, Delete…): the services decide
 * whether the person may still `action` the key (refusing with the one message that says who can), the
 * dialog opens on the press's trigger, and any failure is explained to them under `failureTitle`.
 */
export function openKeyDialog(
  deps: SlackDeps,
  options: {
    action: KeyToManageInput['action'];
    failureTitle: string;
    view: (key: KeySummary, userId: string) => ModalView | Promise<ModalView>;
  },
) {
  return async ({ ack, body, action }: ButtonArgs) => {
    await ack();
    try {
      const key = await deps.services.keyToManage({
        userId: body.user.id,
        key: { id: action.value ?? '' },
        action: options.action,
      });
      await deps.client.views.open({
        trigger_id: body.trigger_id,
        view: await options.view(key, body.user.id),
      });
    } catch (error) {
      await explainFailure(deps, body, error, options.failureTitle);
    }
  };
}

/** Previous / Next: the button's value is the page to show, nothing else. */
export function handleHomePage(deps: SlackDeps) {
  return async ({ ack, body, action }: ButtonArgs) => {
    await ack();
    const page = Number.parseInt(action.value ?? '', 10);
    await deps.home.publish(body.user.id, Number.isInteger(page) && page >= 0 ? page : 0);
  };
}

export async function explainFailure(
  deps: SlackDeps,
  body: BlockButtonAction,
  error: unknown,
  title: string,
): Promise<void> {
  logFailure(deps, error, { method: 'views.open', userId: body.user.id }, 'an App Home button failed');
  // Not a failure: the grace period is already over (a second click, or someone else ended it).
  const shownTitle = isAppError(error, 'NOT_IN_GRACE') ? 'Nothing to end' : title;
  await explain(deps, body, { title: shownTitle, text: userMessageFor(error, 'button') });
}

/**
 * Tells the user why their press did nothing — for a button in a channel message (a reminder's End
 * grace now), as an ephemeral reply there that only they see; otherwise in a small modal (the press's
 * trigger is fresh), or as an ephemeral message in their DM with rekey if Slack refuses the modal — and
 * republishes their Home, so a stale card (a key they no longer maintain) goes away.
 */
export async function explain(
  deps: SlackDeps,
  body: BlockButtonAction,
  notice: { title: string; text: string },
): Promise<void> {
  const userId = body.user.id;
  const text = notice.text.startsWith(':warning:') ? notice.text : `:warning: ${notice.text}`;
  const channel = body.container?.type === 'message' ? body.channel?.id : undefined;
  if (channel) {
    try {
      await deps.client.chat.postEphemeral({ channel, user: userId, ...buildErrorMessage(notice.text) });
    } catch (error) {
      deps.logger.warn(
        recordSlackError(deps, 'chat.postEphemeral', error),
        'could not tell the user why a button did nothing',
      );
    }
    void deps.home.publish(userId);
    return;
  }
  try {
    await deps.client.views.open({
      trigger_id: body.trigger_id,
      view: buildNoticeModal({ title: notice.title, text }),
    });
  } catch (error) {
    deps.logger.warn(recordSlackError(deps, 'views.open', error), 'could not show why a button did nothing');
    try {
      const dm = await deps.client.conversations.open({ users: userId });
      if (dm.channel?.id) {
        await deps.client.chat.postEphemeral({
          channel: dm.channel.id,
          user: userId,
          ...buildErrorMessage(notice.text),
        });
      }
    } catch (fallback) {
      deps.logger.warn(
        recordSlackError(deps, 'chat.postEphemeral', fallback),
        'could not tell the user either',
      );
    }
  }
  void deps.home.publish(userId);
}
