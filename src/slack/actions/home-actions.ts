import { createHash } from 'node:crypto';
import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { isAppError } from '../../errors.ts';
import { mayManageKey } from '../../keys/authorization.ts';
import type { KeySummary } from '../../services/types.ts';
import { buildHistoryModal } from '../blocks/history-modal.ts';
import { buildErrorMessage } from '../blocks/messages.ts';
import { buildNoticeModal } from '../blocks/notice-modal.ts';
import { postEndGraceNotice } from '../deliver.ts';
import type { SlackDeps } from '../deps.ts';
import { prepareRotateKeyModal } from '../rotate-key-opening.ts';
import { describeSlackError, isSlackApiError, recordSlackError } from '../slack-errors.ts';

type ButtonArgs = SlackActionMiddlewareArgs<BlockButtonAction> & AllMiddlewareArgs;

const NOTHING_CHANGED = 'Nothing was changed.';

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
 * "End grace now", after Slack's confirmation dialog: every old key of the card's key stops at once.
 * Refused, with the reason, if the user no longer maintains the key; the service checks again inside
 * its transaction. The Home refreshes through the key-change listener.
 */
export function handleHomeEndGrace(deps: SlackDeps) {
  return async ({ ack, body, action }: ButtonArgs) => {
    await ack();
    const userId = body.user.id;
    try {
      const key = await keyForPress(deps, body, action.value, {
        title: 'Grace period not ended',
        refusal: `you cannot end its grace period. ${NOTHING_CHANGED}`,
      });
      if (!key) return;
      const result = await deps.services.endGrace({
        key: { id: key.id },
        actor: { id: userId, source: 'slack' },
        acknowledged: true,
        // The same press twice (a double click) names the same old keys: one end-grace, not two.
        requestId: `slack:end-grace:${userId}:${key.id}:${createHash('sha256')
          .update(key.inGrace.map((s) => s.id).join(','))
          .digest('hex')
          .slice(0, 16)}`,
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
  return async ({ ack, body, action }: ButtonArgs) => {
    await ack();
    try {
      const key = await keyForPress(deps, body, action.value, {
        title: 'No access',
        refusal: 'rekey does not show you its history.',
      });
      if (!key) return;
      const audit = await deps.services.keyAudit({ id: key.id });
      await deps.client.views.open({ trigger_id: body.trigger_id, view: buildHistoryModal(audit) });
    } catch (error) {
      await explainFailure(deps, body, error, 'History unavailable');
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

/**
 * The card's key, read afresh, if the presser may still act on it (a Home can be stale); otherwise
 * explains why not, changes nothing and returns undefined.
 */
async function keyForPress(
  deps: SlackDeps,
  body: BlockButtonAction,
  keyId: string | undefined,
  denied: { title: string; refusal: string },
): Promise<KeySummary | undefined> {
  const key = await deps.services.showKey({ id: keyId ?? '' });
  if (mayAct(deps, body.user.id, key)) return key;
  const text = `You are no longer a maintainer of "${key.name}", so ${denied.refusal} Ask one of its maintainers (${maintainerList(key)}) or a rekey admin.`;
  await explain(deps, body, { title: denied.title, text });
  return undefined;
}

function mayAct(deps: SlackDeps, userId: string, key: KeySummary): boolean {
  return mayManageKey(userId, key.maintainers, deps.services.deps.admins);
}

function maintainerList(key: KeySummary): string {
  return key.maintainers.map((m) => `<@${m}>`).join(', ') || 'none yet';
}

async function explainFailure(
  deps: SlackDeps,
  body: BlockButtonAction,
  error: unknown,
  title: string,
): Promise<void> {
  if (isSlackApiError(error)) {
    deps.logger.warn(
      recordSlackError(deps, 'views.open', error),
      'an App Home button could not open its view',
    );
  } else if (!isAppError(error)) {
    deps.logger.error({ err: error, userId: body.user.id }, 'an App Home button failed');
  }
  // Not a failure: the grace period is already over (a second click, or someone else ended it).
  const shownTitle = isAppError(error, 'NOT_IN_GRACE') ? 'Nothing to end' : title;
  await explain(deps, body, { title: shownTitle, text: failureText(error) });
}

function failureText(error: unknown): string {
  if (isAppError(error)) return error.userMessage;
  if (isSlackApiError(error)) {
    return `Slack did not accept rekey’s request (${describeSlackError(error).code}). ${NOTHING_CHANGED} Please press the button again in a minute.`;
  }
  return `rekey could not reach its database. ${NOTHING_CHANGED} Please try again in a minute; if it keeps failing, tell your rekey admin.`;
}

/**
 * Tells the user why their press did nothing — in a small modal (the press's trigger is fresh), or as an
 * ephemeral message in their DM with rekey if Slack refuses the modal — and republishes their Home, so
 * a stale card (a key they no longer maintain) goes away.
 */
async function explain(
  deps: SlackDeps,
  body: BlockButtonAction,
  notice: { title: string; text: string },
): Promise<void> {
  const userId = body.user.id;
  const text = notice.text.startsWith(':warning:') ? notice.text : `:warning: ${notice.text}`;
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
