import type { KnownBlock } from '@slack/types';
import type { Delay } from '../../keys/delay.ts';
import type { KeyField, KeyFields } from '../../services/key-fields.ts';
import { ids } from '../ids.ts';
import { onLeakLabel, policyLabel } from './key-inputs.ts';
import { expiryPhrase, slackDate } from './slack-time.ts';
import { clip, escapeMrkdwn, mrkdwn } from './text.ts';

/** A chat message: `text` is the notification and screen-reader fallback for the blocks. */
export interface SlackMessage {
  text: string;
  blocks: KnownBlock[];
}

const section = (text: string): KnownBlock => ({ type: 'section', text: mrkdwn(clip(text)) });

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
      section(
        `\`${c} help\` shows this message. rekey admins create, edit and delete keys on rekey’s Home tab (or with the \`rekey\` CLI); a key’s maintainers can change its rotation policy there.`,
      ),
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

const people = (ids: readonly string[]) =>
  ids.length > 0 ? ids.map((id) => `<@${id}>`).join(', ') : '_nobody_';
const productList = (products: readonly string[]) =>
  products.length > 0 ? products.map(escapeMrkdwn).join(', ') : '_none_';
const channelOf = (channel: string | null) => (channel ? `<#${channel}>` : '_none_');

/** The alert channel's notice of a new key: who made it and what it is. Never the key. */
export function buildKeyCreatedNotice(input: {
  keyName: string;
  actorId: string;
  products: string[];
  maintainers: string[];
  rotateEveryDays: number | null;
}): SlackMessage {
  const name = escapeMrkdwn(input.keyName);
  return {
    text: `<@${input.actorId}> created the key ${input.keyName}.`,
    blocks: [
      section(
        `:sparkles: <@${input.actorId}> created the key *${name}* · products ${productList(input.products)} · maintainers ${people(input.maintainers)} · ${policyLabel(input.rotateEveryDays).toLowerCase()}. Rotations and reminders for it are announced here.`,
      ),
    ],
  };
}

const FIELD_LABELS: Record<KeyField, string> = {
  name: 'name',
  products: 'products',
  maintainers: 'maintainers',
  alertChannel: 'alert channel',
  rotateEveryDays: 'rotation policy',
  onLeak: 'on a reported leak',
};

function fieldText(field: KeyField, fields: Partial<KeyFields>): string {
  switch (field) {
    case 'name':
      return `*${escapeMrkdwn(fields.name ?? '')}*`;
    case 'products':
      return productList(fields.products ?? []);
    case 'maintainers':
      return people(fields.maintainers ?? []);
    case 'alertChannel':
      return channelOf(fields.alertChannel ?? null);
    case 'rotateEveryDays':
      return policyLabel(fields.rotateEveryDays ?? null).toLowerCase();
    case 'onLeak':
      return onLeakLabel(fields.onLeak ?? 'notify').toLowerCase();
  }
}

/** One line per changed field, before → after: what an edit notice and the key's history show. */
export function describeKeyEdit(before: Partial<KeyFields>, after: Partial<KeyFields>): string[] {
  return (Object.keys(after) as KeyField[]).map(
    (field) => `${FIELD_LABELS[field]}: ${fieldText(field, before)} → ${fieldText(field, after)}`,
  );
}

/** The alert channel's notice that someone changed a key's fields: each change, before → after. */
export function buildKeyEditedNotice(input: {
  keyName: string;
  actorId: string;
  before: Partial<KeyFields>;
  after: Partial<KeyFields>;
}): SlackMessage {
  const name = escapeMrkdwn(input.keyName);
  const changes = describeKeyEdit(input.before, input.after);
  return {
    text: `<@${input.actorId}> changed the key ${input.keyName}: ${changes.length} change${changes.length === 1 ? '' : 's'}.`,
    blocks: [
      section(`:pencil2: <@${input.actorId}> changed *${name}*:\n${changes.map((c) => `• ${c}`).join('\n')}`),
    ],
  };
}

/** The alert channel's notice that a key was deleted: every one of its keys stopped working. */
export function buildKeyDeletedNotice(input: {
  keyName: string;
  actorId: string;
  deletedAt: Date;
}): SlackMessage {
  const name = escapeMrkdwn(input.keyName);
  return {
    text: `<@${input.actorId}> deleted the key ${input.keyName}; its keys no longer work.`,
    blocks: [
      section(
        `:wastebasket: <@${input.actorId}> deleted the key *${name}* ${slackDate(input.deletedAt)}: its keys stopped working at once. Its history is kept.`,
      ),
    ],
  };
}
