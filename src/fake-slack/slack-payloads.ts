import { signedFormHeaders } from './signing.ts';

type Json = Record<string, unknown>;

export const DEMO_TEAM = { id: 'TDEMO', domain: 'demo' } as const;
const APP_ID = 'AREKEY';

/** A slash command's body, form-encoded exactly as Slack sends it. */
export function commandBody(fields: {
  command: string;
  text: string;
  userId: string;
  triggerId: string;
  responseUrl: string;
  channelId?: string;
  channelName?: string;
  teamId?: string;
}): string {
  return new URLSearchParams({
    token: 'legacy-verification-token',
    team_id: fields.teamId ?? DEMO_TEAM.id,
    team_domain: DEMO_TEAM.domain,
    channel_id: fields.channelId ?? 'CGENERAL',
    channel_name: fields.channelName ?? 'general',
    user_id: fields.userId,
    user_name: fields.userId.toLowerCase(),
    command: fields.command,
    text: fields.text,
    api_app_id: APP_ID,
    is_enterprise_install: 'false',
    response_url: fields.responseUrl,
    trigger_id: fields.triggerId,
  }).toString();
}

/** Interactivity (`view_submission`, `block_actions`, `view_closed`): one form field `payload` of JSON. */
export function interactionBody(payload: unknown): string {
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

const slackUser = (userId: string) => ({
  id: userId,
  username: userId.toLowerCase(),
  name: userId.toLowerCase(),
  team_id: DEMO_TEAM.id,
});

/** The `view` object Slack attaches to interactions: the shown view plus its state. */
export function viewInPayload(view: Json & { id: string; hash: string }, values: Json): Json {
  return {
    ...view,
    team_id: DEMO_TEAM.id,
    type: view.type ?? 'modal',
    private_metadata: view.private_metadata ?? '',
    callback_id: view.callback_id ?? '',
    state: { values },
    root_view_id: view.id,
    previous_view_id: null,
    app_id: APP_ID,
    external_id: view.external_id ?? '',
    bot_id: 'BREKEY',
  };
}

export function viewSubmissionPayload(
  view: Json & { id: string; hash: string },
  userId: string,
  values: Json,
  triggerId = `${Date.now()}.trigger`,
): Json {
  return {
    type: 'view_submission',
    team: DEMO_TEAM,
    user: slackUser(userId),
    api_app_id: APP_ID,
    token: 'legacy-verification-token',
    trigger_id: triggerId,
    view: viewInPayload(view, values),
    response_urls: [],
    is_enterprise_install: false,
    enterprise: null,
  };
}

export function viewClosedPayload(view: Json & { id: string; hash: string }, userId: string): Json {
  return {
    type: 'view_closed',
    team: DEMO_TEAM,
    user: slackUser(userId),
    api_app_id: APP_ID,
    token: 'legacy-verification-token',
    view: viewInPayload(view, {}),
    is_cleared: false,
    is_enterprise_install: false,
  };
}

/** A button press or menu choice, in a view (modal or Home) or in a message. */
export function blockActionsPayload(fields: {
  userId: string;
  triggerId: string;
  action: Json;
  view?: Json & { id: string; hash: string };
  values?: Json;
  message?: { ts: string; channelId: string; text?: string; blocks?: unknown; threadTs?: string };
  responseUrl?: string;
}): Json {
  const base: Json = {
    type: 'block_actions',
    team: DEMO_TEAM,
    user: slackUser(fields.userId),
    api_app_id: APP_ID,
    token: 'legacy-verification-token',
    trigger_id: fields.triggerId,
    actions: [{ ...fields.action, action_ts: `${Date.now() / 1000}` }],
    is_enterprise_install: false,
  };
  if (fields.view) {
    return {
      ...base,
      container: { type: 'view', view_id: fields.view.id },
      view: viewInPayload(fields.view, fields.values ?? {}),
    };
  }
  const m = fields.message!;
  return {
    ...base,
    container: { type: 'message', message_ts: m.ts, channel_id: m.channelId, is_ephemeral: false },
    channel: { id: m.channelId, name: m.channelId },
    message: {
      type: 'message',
      ts: m.ts,
      text: m.text ?? '',
      blocks: m.blocks ?? [],
      ...(m.threadTs ? { thread_ts: m.threadTs } : {}),
    },
    response_url: fields.responseUrl,
  };
}

/**
 * POSTs a body to a bot's /slack/events signed the way Slack signs it. Tests pass `forge` to send what
 * a forger or a replay would: another timestamp or signature, or no signature headers at all.
 */
export async function postSignedToBot(
  botUrl: string,
  rawBody: string,
  signingSecret: string,
  forge: { timestamp?: number; signature?: string; unsigned?: boolean } = {},
): Promise<{ status: number; text: string; json: Json | undefined }> {
  const headers = signedFormHeaders(signingSecret, rawBody, forge.timestamp);
  if (forge.signature !== undefined) headers['x-slack-signature'] = forge.signature;
  if (forge.unsigned) {
    delete headers['x-slack-signature'];
    delete headers['x-slack-request-timestamp'];
  }
  const response = await fetch(`${botUrl}/slack/events`, { method: 'POST', headers, body: rawBody });
  const text = await response.text();
  let json: Json | undefined;
  try {
    json = text ? (JSON.parse(text) as Json) : undefined;
  } catch {
    json = undefined;
  }
  return { status: response.status, text, json };
}

/** An Events API envelope (`event_callback`) around one event, as Slack sends it: JSON, with a fresh event id. */
export function eventCallbackBody(event: Json): string {
  return JSON.stringify({
    token: 'legacy-verification-token',
    team_id: DEMO_TEAM.id,
    api_app_id: APP_ID,
    event: { event_ts: `${Date.now() / 1000}`, ...event },
    type: 'event_callback',
    event_id: `Ev${Date.now()}${Math.floor(Math.random() * 1e6)}`,
    event_time: Math.floor(Date.now() / 1000),
  });
}

/**
 * Delivers an Events API body, signed. Slack redelivers the same body with `X-Slack-Retry-Num`
 * (1 to 3) and `X-Slack-Retry-Reason` when it did not get a 200 in time.
 */
export async function deliverSignedEvent(
  botUrl: string,
  rawBody: string,
  signingSecret: string,
  retry?: { num: number; reason?: string },
): Promise<number> {
  const headers: Record<string, string> = {
    ...signedFormHeaders(signingSecret, rawBody),
    'content-type': 'application/json',
  };
  if (retry) {
    headers['x-slack-retry-num'] = String(retry.num);
    headers['x-slack-retry-reason'] = retry.reason ?? 'http_timeout';
  }
  const response = await fetch(`${botUrl}/slack/events`, { method: 'POST', headers, body: rawBody });
  await response.text();
  return response.status;
}

/** Events API delivery (JSON body), e.g. `app_home_opened`. */
export function postSignedEvent(botUrl: string, event: Json, signingSecret: string): Promise<number> {
  return deliverSignedEvent(botUrl, eventCallbackBody(event), signingSecret);
}

/** A person's new message in a channel (`message.channels`, or `message.groups` for a private one). */
export function channelMessageEvent(fields: {
  channel: string;
  user: string;
  text: string;
  ts: string;
  threadTs?: string;
  blocks?: unknown[];
  attachments?: unknown[];
  channelType?: 'channel' | 'group';
  /** A bot's message: `subtype: bot_message` with its `bot_id`. */
  botId?: string;
}): Json {
  return {
    type: 'message',
    channel: fields.channel,
    channel_type: fields.channelType ?? 'channel',
    user: fields.user,
    text: fields.text,
    ts: fields.ts,
    event_ts: fields.ts,
    team: DEMO_TEAM.id,
    ...(fields.threadTs ? { thread_ts: fields.threadTs } : {}),
    ...(fields.blocks ? { blocks: fields.blocks } : {}),
    ...(fields.attachments ? { attachments: fields.attachments } : {}),
    ...(fields.botId ? { subtype: 'bot_message', bot_id: fields.botId } : {}),
  };
}

/** An edit: `message_changed`, the new version under `message` with the original message's ts. */
export function messageChangedEvent(fields: {
  channel: string;
  user: string;
  ts: string;
  text: string;
  previousText: string;
  blocks?: unknown[];
  attachments?: unknown[];
  channelType?: 'channel' | 'group';
  botId?: string;
}): Json {
  const eventTs = `${Math.floor(Date.now() / 1000)}.${String(Math.floor(Math.random() * 1e6)).padStart(6, '0')}`;
  return {
    type: 'message',
    subtype: 'message_changed',
    hidden: true,
    channel: fields.channel,
    channel_type: fields.channelType ?? 'channel',
    ts: eventTs,
    event_ts: eventTs,
    message: {
      type: 'message',
      user: fields.user,
      text: fields.text,
      ts: fields.ts,
      edited: { user: fields.user, ts: eventTs },
      ...(fields.blocks ? { blocks: fields.blocks } : {}),
      ...(fields.attachments ? { attachments: fields.attachments } : {}),
      ...(fields.botId ? { bot_id: fields.botId, subtype: 'bot_message' } : {}),
    },
    previous_message: { type: 'message', user: fields.user, text: fields.previousText, ts: fields.ts },
  };
}
