import type { KnownBlock } from '@slack/types';
import type { EndGraceResult } from '../services/end-grace.ts';
import type { RotationResult } from '../services/types.ts';
import { buildEndGraceNotice, buildNewKeyMessage, buildRotationNotice } from './blocks/messages.ts';
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

async function postChannelNotice(
  deps: SlackDeps,
  input: {
    channel: string;
    key: { id: string; name: string };
    message: { text: string; blocks: KnownBlock[] };
    what: 'rotation' | 'end-grace';
  },
): Promise<void> {
  const { channel, key, what } = input;
  try {
    await deps.client.chat.postMessage({ channel, ...input.message });
  } catch (error) {
    const described = recordSlackError(deps, 'chat.postMessage', error);
    const change = what === 'rotation' ? 'the rotation' : 'the end of the grace period';
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
