import type { ActionsBlock, Button, KnownBlock, ModalView } from '@slack/types';
import type { LeakNoticeToSend } from '../../services/leak-outbox.ts';
import { ids } from '../ids.ts';
import type { SlackMessage } from './messages.ts';
import { slackDate, timeUntil } from './slack-time.ts';
import { clip, escapeMrkdwn, mrkdwn, plain } from './text.ts';

/** A scanner's URL is shown, never followed; long ones are cut so a message stays within Slack's limits. */
const MAX_URL_SHOWN = 300;
/** Reporters named in a summary; the rest are counted. */
const MAX_REPORTERS_SHOWN = 5;

const section = (text: string): KnownBlock => ({ type: 'section', text: mrkdwn(clip(text)) });

/** "in #channel" or "at <the scanner's URL>" (escaped: it comes from outside). */
export function leakPlace(place: { channel: string | null; url: string | null }): string {
  if (place.channel) return `in <#${place.channel}>`;
  const url = place.url ?? '';
  const shown = url.length > MAX_URL_SHOWN ? `${url.slice(0, MAX_URL_SHOWN)}…` : url;
  return `at ${escapeMrkdwn(shown)}`;
}

/** Button values carry ids only (`<key id>:<secret id>`), never anything about a key string. */
export function encodeLeakSecretValue(keyId: string, secretId: string): string {
  return `${keyId}:${secretId}`;
}

export function decodeLeakSecretValue(value: string | undefined): { keyId: string; secretId: string } | null {
  const match = /^([0-9a-f-]{36}):([0-9a-f-]{36})$/i.exec(value ?? '');
  return match ? { keyId: match[1]!, secretId: match[2]! } : null;
}

/** "Rotate now…": opens the rotation dialog for this key with Immediately chosen. The value is the key's id. */
function rotateNowButton(keyId: string): Button {
  return {
    type: 'button',
    action_id: ids.leak.rotateNow,
    text: plain('Rotate now…'),
    style: 'danger',
    value: keyId,
  };
}

/** "End this key now…": a confirmation, then exactly this old secret stops; the current key is untouched. */
function endThisKeyButton(keyId: string, secretId: string): Button {
  return {
    type: 'button',
    action_id: ids.leak.endKey,
    text: plain('End this key now…'),
    style: 'danger',
    value: encodeLeakSecretValue(keyId, secretId),
  };
}

function revealButton(keyId: string, hiddenSecretId: string): Button {
  return {
    type: 'button',
    action_id: ids.leak.revealNewKey,
    text: plain('Reveal the new key'),
    style: 'primary',
    value: encodeLeakSecretValue(keyId, hiddenSecretId),
  };
}

/** Who reported, as people read it: `<@U…>`, "the scanner *x*". */
function reporterName(reporter: string): string {
  if (reporter.startsWith('scanner:'))
    return `the scanner *${escapeMrkdwn(reporter.slice('scanner:'.length))}*`;
  return reporter.startsWith('<@') ? reporter : escapeMrkdwn(reporter);
}

function reporterList(reporters: string[]): string {
  const named = reporters.slice(0, MAX_REPORTERS_SHOWN).map(reporterName);
  const more = reporters.length > MAX_REPORTERS_SHOWN || reporters.length === 0 ? ' and others' : '';
  return `${named.join(', ')}${more}`;
}

const moreTimes = (n: number) => (n === 1 ? 'once more' : `${n} more times`);

/** What the leaked secret is now, and what to do about it: the sentence and the button, if any. */
function whatToDo(n: LeakNoticeToSend): { line: string; button?: Button } {
  const { secret, key } = n;
  if (secret.state === 'expired') {
    return { line: `The leaked key \`${secret.display}\` *no longer works*: nobody can use it now.` };
  }
  if (secret.state === 'grace') {
    const until = secret.expiresAt!;
    return {
      line: `*End this key now:* the leaked key is an *old key* of ${escapeMrkdwn(key.name)} that still works until ${slackDate(until)} (${timeUntil(until, n.now)}). Ending it stops exactly this key; the current key and the clients already using it are untouched.`,
      button: endThisKeyButton(key.id, secret.id),
    };
  }
  return {
    line: '*Rotate it now:* the button opens the rotation with *Immediately* chosen; pick a delay only if something you cannot update at once depends on the key.',
    button: rotateNowButton(key.id),
  };
}

/** What rekey did by itself (the key's on-leak policy), and when the leaked key stops. */
function containedLine(n: LeakNoticeToSend): string {
  const c = n.contained;
  if (!c) return '';
  const { secret } = n;
  const stops =
    secret.state === 'expired'
      ? `it stopped working ${slackDate(secret.expiresAt ?? n.now)}`
      : `it stops working ${slackDate(secret.expiresAt!)} (${timeUntil(secret.expiresAt!, n.now)})`;
  if (c.action === 'ended') {
    return `:robot_face: *rekey ended the leaked key by itself* (on-leak policy \`${n.key.onLeak}\`): ${stops}. The current key is untouched.`;
  }
  const reveal =
    n.kind === 'dm'
      ? ' Nobody has been shown the new key yet: press *Reveal the new key* to get it (the first maintainer who presses does; a fresh key is made for them).'
      : ' Nobody has been shown the new key yet: the first maintainer who presses *Reveal the new key* in their DM gets it.';
  return `:robot_face: *rekey rotated ${escapeMrkdwn(n.key.name)} by itself* (on-leak policy \`${n.key.onLeak}\`): the leaked key ${stops}.${reveal}`;
}

/**
 * The reply in the thread of a message holding a key, for everyone in the channel: which key (display
 * form only — never the key string), what that means, and what to do. A key that no longer works gets
 * a note and nothing else.
 */
export function buildLeakThreadReply(n: LeakNoticeToSend): SlackMessage {
  const name = escapeMrkdwn(n.key.name);
  if (!n.report.live) {
    return {
      text: `The API key of ${n.key.name} in this message no longer works.`,
      blocks: [
        section(
          `:information_source: The API key of *${name}* in this message (\`${n.secret.display}\`) *no longer works*: it was rotated and has expired, so nobody can use it. You may still delete the message.`,
        ),
      ],
    };
  }
  const who = n.report.postedBy ? `<@${n.report.postedBy}>, please` : 'Please';
  const old = n.secret.state === 'grace' || (n.contained?.action === 'ended' && n.secret.state === 'expired');
  const which = old
    ? `an old API key of ${name} (still in its grace period)`
    : `a working API key of ${name}`;
  const todo = n.contained ? { line: containedLine(n) } : whatToDo(n);
  const still = n.contained
    ? 'delete the message anyway.'
    : old
      ? 'delete the message — and the old key should be ended, since others may already have copied it.'
      : 'delete the message — and the key still has to be rotated, since others may already have copied it.';
  const blocks: KnownBlock[] = [
    section(
      `:rotating_light: *This message contains ${which}* (\`${n.secret.display}\`). Anyone who can read this channel can use it. Its maintainers have been told.\n${who} ${still}`,
    ),
  ];
  if (n.contained) blocks.push(section(todo.line));
  const buttons = n.contained ? [] : todo.button ? [todo.button] : [];
  if (buttons.length > 0) blocks.push({ type: 'actions', elements: buttons } satisfies ActionsBlock);
  return {
    text: `This message contains ${old ? 'an old' : 'a working'} API key of ${n.key.name}. Anyone who can read this channel can use it; its maintainers have been told. Please delete the message.`,
    blocks,
  };
}

/**
 * What the key's maintainers (a DM each) and its alert channel are told about a leaked key: which key
 * and what it is now (current, or an old one still in its grace period), where it was seen (with a link
 * to the Slack message when there is one) and by whom, what rekey did by itself, and the button for
 * what is left to do. A later round sums the reports since the previous one instead of repeating it.
 */
export function buildLeakAlert(n: LeakNoticeToSend, permalink?: string): SlackMessage {
  const { key, secret, report } = n;
  const name = escapeMrkdwn(key.name);
  const which =
    secret.state === 'current'
      ? 'its current key'
      : secret.state === 'grace'
        ? 'an old key still in its grace period'
        : 'a key';
  const where =
    report.channel !== null
      ? `${leakPlace({ channel: report.channel, url: null })}${report.postedBy ? ` by <@${report.postedBy}>` : ''}${permalink ? ` (<${permalink}|the message>)` : ''}`
      : `by ${reporterName(report.foundBy)} ${leakPlace({ channel: null, url: report.url })}`;
  const headline =
    n.round > 1
      ? `:rotating_light: *${name}* — ${which} \`${secret.display}\` was reported leaked *${moreTimes(n.reports)}* since the last alert, by ${reporterList(n.reporters)}; the latest ${where} ${slackDate(report.reportedAt)}.`
      : `:rotating_light: *${name}* — ${which} \`${secret.display}\` was ${report.channel !== null ? 'posted' : 'found'} ${where} ${slackDate(report.reportedAt)}${n.reports > 1 ? `, and reported ${moreTimes(n.reports - 1)} since, by ${reporterList(n.reporters)}` : ''}. Anyone who can read that ${report.channel !== null ? 'channel' : 'place'} can use it.`;
  const todo = whatToDo(n);
  const lines = [headline, containedLine(n), todo.line].filter(Boolean);
  const buttons: Button[] = [];
  if (n.kind === 'dm' && n.contained?.action === 'rotated' && n.contained.hiddenSecretId) {
    buttons.push(revealButton(key.id, n.contained.hiddenSecretId));
  }
  if (todo.button) buttons.push(todo.button);
  const blocks: KnownBlock[] = [section(lines.join('\n'))];
  if (buttons.length > 0) blocks.push({ type: 'actions', elements: buttons });
  const ask = secret.state === 'current' ? ' Rotate it now.' : secret.state === 'grace' ? ' End it now.' : '';
  const summary = n.round > 1 ? ` (${moreTimes(n.reports)} since the last alert)` : '';
  return { text: `${key.name}: ${which} was reported leaked${summary}.${ask}`, blocks };
}

/** The line at the top of the rotation dialog opened from "Rotate now…": why Immediately is chosen. */
export const LEAK_ROTATION_NOTE =
  ':rotating_light: *This key was reported leaked.* Anyone who saw it can use it, so *Immediately* is chosen below. A key seen only in a small private channel may deserve a short delay: pick one if something you cannot update at once depends on it.';

/**
 * "End this key now…"'s confirmation: which old key stops, that it cannot be undone, and that the
 * current key is untouched. Carries the key's and the secret's ids only.
 */
export function buildEndLeakedKeyModal(input: {
  keyName: string;
  display: string;
  expiresAt: Date;
  currentDisplay: string | null;
  now: Date;
  privateMetadata: string;
}): ModalView {
  const name = escapeMrkdwn(input.keyName);
  return {
    type: 'modal',
    callback_id: ids.views.endLeakedKey,
    title: plain('End this key now'),
    submit: plain('End it now'),
    close: plain('Cancel'),
    private_metadata: input.privateMetadata,
    blocks: [
      section(
        `:rotating_light: The old key \`${input.display}\` of *${name}* was reported leaked. It still works until ${slackDate(input.expiresAt)} (${timeUntil(input.expiresAt, input.now)}).`,
      ),
      section(
        `*End it now* stops exactly this key, at once and for good: anything still sending it is refused from then on. It cannot be undone.${input.currentDisplay ? ` The current key \`${input.currentDisplay}\` and the clients using it are untouched.` : ''}`,
      ),
    ],
  };
}
