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
  message?: { ts: string; channelId: string; text?: string; blocks?: unknown };
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
    message: { type: 'message', ts: m.ts, text: m.text ?? '', blocks: m.blocks ?? [] },
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

/** Events API delivery (JSON body), e.g. `app_home_opened`. */
export async function postSignedEvent(botUrl: string, event: Json, signingSecret: string): Promise<number> {
  const raw = JSON.stringify({
    token: 'legacy-verification-token',
    team_id: DEMO_TEAM.id,
    api_app_id: APP_ID,
    event: { ...event, event_ts: `${Date.now() / 1000}` },
    type: 'event_callback',
    event_id: `Ev${Date.now()}${Math.floor(Math.random() * 1e6)}`,
    event_time: Math.floor(Date.now() / 1000),
  });
  const headers = { ...signedFormHeaders(signingSecret, raw), 'content-type': 'application/json' };
  const response = await fetch(`${botUrl}/slack/events`, { method: 'POST', headers, body: raw });
  await response.text();
  return response.status;
}
