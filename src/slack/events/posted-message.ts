/** A person's message in a channel, as far as the leak watch needs it. Its text is never stored or logged. */
export interface PostedMessage {
  channel: string;
  /** The message's own ts (for an edit: the edited message's, so an edit is the same message). */
  ts: string;
  /** Where a reply goes: the thread the message is in, or the message itself. */
  threadTs: string;
  user: string | null;
  /** Everything readable in it — text, blocks, attachments — joined by newlines. */
  text: string;
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null;
const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/** Subtypes that carry no new text from a person: bots, deletions, thread bookkeeping, joins. */
const SKIPPED_SUBTYPES = new Set([
  'bot_message',
  'message_deleted',
  'message_replied',
  'channel_join',
  'channel_leave',
  'group_join',
  'group_leave',
]);

/**
 * The message a `message` event is about, or null when there is nothing of a person's to scan: a
 * bot's message (any bot, rekey included), a deletion, a DM, or an edit whose new version is a bot's.
 * An edit (`message_changed`) is scanned as its new version under the original message's ts.
 */
export function postedMessage(event: unknown): PostedMessage | null {
  if (!isObject(event) || event.type !== 'message') return null;
  // message.channels and message.groups: public and private channels rekey is a member of.
  if (
    event.channel_type !== undefined &&
    event.channel_type !== 'channel' &&
    event.channel_type !== 'group'
  ) {
    return null;
  }
  const channel = str(event.channel);
  const subtype = str(event.subtype);
  if (!channel || (subtype && SKIPPED_SUBTYPES.has(subtype))) return null;
  const message = subtype === 'message_changed' ? event.message : event;
  if (!isObject(message) || message.bot_id !== undefined || message.subtype === 'bot_message') return null;
  const ts = str(message.ts);
  if (!ts) return null;
  const parts: string[] = [];
  collectStrings(message.text, parts);
  collectStrings(message.blocks, parts);
  collectStrings(message.attachments, parts);
  return {
    channel,
    ts,
    threadTs: str(message.thread_ts) ?? ts,
    user: str(message.user) ?? null,
    text: parts.join('\n'),
  };
}

/**
 * Every string inside blocks or attachments (rich text, sections, fields, fallbacks…), each on its own
 * line so two pieces can never join into one key-shaped string.
 */
function collectStrings(value: unknown, into: string[]): void {
  if (typeof value === 'string') into.push(value);
  else if (Array.isArray(value)) for (const item of value) collectStrings(item, into);
  else if (isObject(value)) for (const item of Object.values(value)) collectStrings(item, into);
}
