import type { ActionsBlock, KnownBlock } from '@slack/types';
import type { LeakNotice } from '../../services/report-leak.ts';
import { ids } from '../ids.ts';
import type { SlackMessage } from './messages.ts';
import { slackDate } from './slack-time.ts';
import { escapeMrkdwn, mrkdwn, plain } from './text.ts';

/** A scanner's URL is shown, never followed; long ones are cut so a message stays within Slack's limits. */
const MAX_URL_SHOWN = 300;

const section = (text: string): KnownBlock => ({ type: 'section', text: mrkdwn(text) });

/** "in #channel" or "at <the scanner's URL>" (escaped: it comes from outside). */
export function leakPlace(place: { channel: string | null; url: string | null }): string {
  if (place.channel) return `in <#${place.channel}>`;
  const url = place.url ?? '';
  const shown = url.length > MAX_URL_SHOWN ? `${url.slice(0, MAX_URL_SHOWN)}…` : url;
  return `at ${escapeMrkdwn(shown)}`;
}

/** "Rotate now…": opens the rotation dialog for this key with Immediately chosen. The value is the key's id. */
function rotateNowButton(keyId: string): ActionsBlock {
  return {
    type: 'actions',
    elements: [
      {
        type: 'button',
        action_id: ids.leak.rotateNow,
        text: plain('Rotate now…'),
        style: 'danger',
        value: keyId,
      },
    ],
  };
}

/**
 * The reply in the thread of a message holding a working key, for everyone in the channel: which key
 * (display form only — never the key string), what that means, and what to do.
 */
export function buildLeakThreadReply(input: {
  keyId: string;
  keyName: string;
  display: string;
  postedBy: string | null;
}): SlackMessage {
  const name = escapeMrkdwn(input.keyName);
  const who = input.postedBy ? `<@${input.postedBy}>, please` : 'Please';
  return {
    text: `This message contains a working API key of ${input.keyName}. Anyone who can read this channel can use it; its maintainers have been told. Please delete the message.`,
    blocks: [
      section(
        `:rotating_light: *This message contains a working API key of ${name}* (\`${input.display}\`). Anyone who can read this channel can use it. Its maintainers have been told.\n${who} delete the message — and the key still has to be rotated, since others may already have copied it.`,
      ),
      rotateNowButton(input.keyId),
    ],
  };
}

/** The thread note for a key string that no longer works: nothing to rotate, nobody alerted. */
export function buildExpiredKeyThreadNote(input: { keyName: string; display: string }): SlackMessage {
  const name = escapeMrkdwn(input.keyName);
  return {
    text: `The API key of ${input.keyName} in this message no longer works.`,
    blocks: [
      section(
        `:information_source: The API key of *${name}* in this message (\`${input.display}\`) *no longer works*: it was rotated and has expired, so nobody can use it. You may still delete the message.`,
      ),
    ],
  };
}

/**
 * What the key's maintainers (in a DM) and its alert channel are told about a working key seen leaked:
 * where (with a link to the Slack message when there is one), by whom, and the button to rotate it.
 */
export function buildLeakAlert(input: { notice: LeakNotice; permalink?: string }): SlackMessage {
  const { key, secret, place, reportedAt } = input.notice;
  const name = escapeMrkdwn(key.name);
  const which = secret.expiresAt ? 'an old key still in its grace period' : 'its current key';
  const where =
    place.kind === 'slack_message'
      ? `was posted ${leakPlace({ channel: place.channel, url: null })}${place.postedBy ? ` by <@${place.postedBy}>` : ''}${input.permalink ? ` (<${input.permalink}|the message>)` : ''}`
      : `was found by the scanner *${escapeMrkdwn(place.source)}* ${leakPlace({ channel: null, url: place.url })}`;
  const readers =
    place.kind === 'slack_message'
      ? 'Anyone who can read that channel can use it.'
      : 'Anyone who can read that place can use it.';
  return {
    text: `${key.name}: ${which} was reported leaked. Rotate it now.`,
    blocks: [
      section(
        `:rotating_light: *${name}* — ${which} \`${secret.display}\` ${where} ${slackDate(reportedAt)}. ${readers}\n*Rotate it now:* the button opens the rotation with *Immediately* chosen; pick a delay only if something you cannot update at once depends on the key.`,
      ),
      rotateNowButton(key.id),
    ],
  };
}

/** The line at the top of the rotation dialog opened from "Rotate now…": why Immediately is chosen. */
export const LEAK_ROTATION_NOTE =
  ':rotating_light: *This key was reported leaked.* Anyone who saw it can use it, so *Immediately* is chosen below. A key seen only in a small private channel may deserve a short delay: pick one if something you cannot update at once depends on it.';
