import type { KnownBlock } from '@slack/types';
import type { DeletedKey } from '../services/delete-key.ts';
import type { EditKeyResult } from '../services/edit-key.ts';
import type { EndGraceResult } from '../services/end-grace.ts';
import type { KeySummary, RotationResult } from '../services/types.ts';
import {
  buildEndGraceNotice,
  buildKeyCreatedNotice,
  buildKeyDeletedNotice,
  buildKeyEditedNotice,
  buildNewKeyMessage,
  buildRotationNotice,
} from './blocks/messages.ts';
import type { SlackDeps } from './deps.ts';
import { recordSlackError } from './slack-errors.ts';

/**
 * The new key's second copy: an ephemeral message in the user's DM with the app (never a stored
 * message). Slack may not deliver it (user_not_in_channel, inactive user); the key is already in the
 * modal, so a failure is logged — without the key — and nothing else.
 */
export async function deliverNewKey(
  deps: SlackDeps,
  input: { userId: string; keyName: string; token: string },
): Promise<void> {
  let method = 'conversations.open';
  try {
    const dm = await deps.client.conversations.open({ users: input.userId });
    const channel = dm.channel?.id;
    if (!channel) throw new Error('conversations.open returned no channel');
    method = 'chat.postEphemeral';
    await deps.client.chat.postEphemeral({
      channel,
      user: input.userId,
      ...buildNewKeyMessage({ keyName: input.keyName, token: input.token }),
    });
  } catch (error) {
    deps.logger.warn(
      { ...recordSlackError(deps, method, error), userId: input.userId, keyName: input.keyName },
      'could not send the new key as an ephemeral DM; the user saw it in the modal',
    );
  }
}

/** Tells the key's alert channel who rotated it and when the old key stops. No secret in it. */
export async function postRotationNotice(
  deps: SlackDeps,
  input: { result: Extract<RotationResult, { status: 'rotated' }>; userId: string; oldKeyExpiresAt: Date },
): Promise<void> {
  const { key, oldSecret, delay } = input.result;
  const channel = key.alertChannel;
  if (!channel) return;
  const message = buildRotationNotice({
    keyName: key.name,
    actorId: input.userId,
    oldKeyDisplay: oldSecret.display,
    oldKeyExpiresAt: input.oldKeyExpiresAt,
    delay,
  });
  await postChannelNotice(deps, { channel, key, message, what: 'rotation' });
}

/** Tells the key's alert channel that someone ended its grace period early. No secret in it. */
export async function postEndGraceNotice(
  deps: SlackDeps,
  input: { result: Extract<EndGraceResult, { status: 'ended' }>; userId: string },
): Promise<void> {
  const { key, ended, endedAt } = input.result;
  if (!key.alertChannel) return;
  const message = buildEndGraceNotice({
    keyName: key.name,
    actorId: input.userId,
    endedDisplays: ended.map((s) => s.display),
    endedAt,
  });
  await postChannelNotice(deps, { channel: key.alertChannel, key, message, what: 'end-grace' });
}

/** Tells a new key's alert channel who created it. */
export async function postKeyCreatedNotice(
  deps: SlackDeps,
  input: { key: KeySummary; userId: string },
): Promise<void> {
  const { key } = input;
  if (!key.alertChannel) return;
  const message = buildKeyCreatedNotice({
    keyName: key.name,
    actorId: input.userId,
    products: key.products,
    maintainers: key.maintainers,
    rotateEveryDays: key.rotateEveryDays,
  });
  await postChannelNotice(deps, { channel: key.alertChannel, key, message, what: 'create' });
}

/**
 * Tells the key's alert channel what changed, before → after; when the channel itself moved, the one
 * it left too, so nobody there waits for notices that now go elsewhere.
 */
export async function postKeyEditedNotice(
  deps: SlackDeps,
  input: { result: Extract<EditKeyResult, { status: 'edited' }>; userId: string },
): Promise<void> {
  const { key, before, after } = input.result;
  const message = buildKeyEditedNotice({ keyName: key.name, actorId: input.userId, before, after });
  const channels = new Set([key.alertChannel, 'alertChannel' in before ? before.alertChannel : null]);
  await Promise.all(
    [...channels]
      .filter((channel): channel is string => Boolean(channel))
      .map((channel) => postChannelNotice(deps, { channel, key, message, what: 'edit' })),
  );
}

/** Tells a deleted key's alert channel who deleted it. */
export async function postKeyDeletedNotice(
  deps: SlackDeps,
  input: { key: DeletedKey; userId: string },
): Promise<void> {
  const { key } = input;
  if (!key.alertChannel) return;
  const message = buildKeyDeletedNotice({
    keyName: key.name,
    actorId: input.userId,
    deletedAt: key.deletedAt,
  });
  await postChannelNotice(deps, { channel: key.alertChannel, key, message, what: 'delete' });
}

type NoticeKind = 'rotation' | 'end-grace' | 'create' | 'edit' | 'delete';

const CHANGE_PHRASE: Record<NoticeKind, string> = {
  rotation: 'the rotation',
  'end-grace': 'the end of the grace period',
  create: 'the new key',
  edit: 'the change',
  delete: 'the deletion',
};

async function postChannelNotice(
  deps: SlackDeps,
  input: {
    channel: string;
    key: { id: string; name: string };
    message: { text: string; blocks: KnownBlock[] };
    what: NoticeKind;
  },
): Promise<void> {
  const { channel, key, what } = input;
  try {
    await deps.client.chat.postMessage({ channel, ...input.message });
  } catch (error) {
    const described = recordSlackError(deps, 'chat.postMessage', error);
    const change = CHANGE_PHRASE[what];
    const hint =
      described.code === 'not_in_channel' || described.code === 'channel_not_found'
        ? ` — invite the bot to <#${channel}> (/invite @rekey) so ${what} notices arrive; ${change} itself stands`
        : ` — ${change} itself stands`;
    deps.logger.warn(
      { ...described, channel, keyId: key.id, keyName: key.name },
      `could not post the ${what} notice in the alert channel${hint}`,
    );
  }
}
