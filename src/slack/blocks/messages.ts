import type { KnownBlock } from '@slack/types';
import type { Delay } from '../../keys/delay.ts';
import { ids } from '../ids.ts';
import { expiryPhrase, slackDate } from './slack-time.ts';
import { escapeMrkdwn, mrkdwn } from './text.ts';

/** A chat message: `text` is the notification and screen-reader fallback for the blocks. */
export interface SlackMessage {
  text: string;
  blocks: KnownBlock[];
}

const section = (text: string): KnownBlock => ({ type: 'section', text: mrkdwn(text) });

export function buildHelpMessage(): SlackMessage {
  const c = ids.command;
  return {
    text: `${c} rotates an API key you maintain.`,
    blocks: [
      section(
        [
          `*\`${c} [key-name]\`* rotates an API key you maintain (or any key, for rekey admins).`,
          '1. Pick the key and when the old key should stop working (24 hours by default; up to 72 hours, or immediately for emergencies).',
          '2. Confirm that you understand rotation cannot be undone, and review.',
          '3. The new key is shown once, only to you, in the dialog and as a private message. The key’s alert channel is told who rotated it, without the key.',
        ].join('\n'),
      ),
      section(`\`${c} help\` shows this message. Keys and maintainers are managed with the \`rekey\` CLI.`),
    ],
  };
}

/** One line for any failure, in an ephemeral message. */
export function buildErrorMessage(text: string): SlackMessage {
  return { text, blocks: [section(`:warning: ${text}`)] };
}

/** The ephemeral copy of the new key in the user's DM with the app. */
export function buildNewKeyMessage(input: { keyName: string; token: string }): SlackMessage {
  const name = escapeMrkdwn(input.keyName);
  return {
    text: `Your new key for ${input.keyName}. It will not be shown again.`,
    blocks: [
      section(`:key: Your new key for *${name}* — copy it now, *it will not be shown again*:`),
      section(`\`\`\`${input.token}\`\`\``),
    ],
  };
}

/** The alert channel's notice. Never carries a key string, only the old key's display form. */
export function buildRotationNotice(input: {
  keyName: string;
  actorId: string;
  oldKeyDisplay: string;
  oldKeyExpiresAt: Date;
  delay: Delay;
}): SlackMessage {
  const name = escapeMrkdwn(input.keyName);
  const when = expiryPhrase(input.oldKeyExpiresAt, input.delay);
  return {
    text: `${input.keyName} was rotated by <@${input.actorId}>; the old key stops working ${when}.`,
    blocks: [
      section(
        `:arrows_counterclockwise: <@${input.actorId}> rotated *${name}*. The old key \`${input.oldKeyDisplay}\` stops working ${when}.`,
      ),
    ],
  };
}

/** The alert channel's notice that someone ended a grace period early. Display forms only. */
export function buildEndGraceNotice(input: {
  keyName: string;
  actorId: string;
  endedDisplays: string[];
  endedAt: Date;
}): SlackMessage {
  const name = escapeMrkdwn(input.keyName);
  const n = input.endedDisplays.length;
  const which = `${n === 1 ? 'old key' : 'old keys'} ${input.endedDisplays.map((d) => `\`${d}\``).join(', ')}`;
  return {
    text: `<@${input.actorId}> ended the grace period of ${input.keyName}: the old key stopped working.`,
    blocks: [
      section(
        `:octagonal_sign: <@${input.actorId}> ended the grace period of *${name}*: the ${which} stopped working ${slackDate(input.endedAt)}. Only the current key works now.`,
      ),
    ],
  };
}
