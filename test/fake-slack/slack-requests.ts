import { signedFormHeaders, slackSignature } from '../../src/fake-slack/signing.ts';
import { commandBody, interactionBody } from '../../src/fake-slack/slack-payloads.ts';

export interface SlackResponse {
  status: number;
  text: string;
  /** The answer parsed as JSON, or undefined for an empty or non-JSON body. */
  json: Record<string, unknown> | undefined;
  /** How long rekey took to answer (Slack gives up after 3 s). */
  ms: number;
}

/**
 * POSTs a body to rekey's /slack/events the way Slack does: signed with v0 HMAC over the timestamp and
 * raw body. `signature`/`timestamp` override what a forger or a replay would send; `unsigned` sends none.
 */
export async function postToSlackEndpoint(
  url: string,
  rawBody: string,
  options: { signingSecret: string; timestamp?: number; signature?: string; unsigned?: boolean },
): Promise<SlackResponse> {
  const headers = signedFormHeaders(options.signingSecret, rawBody, options.timestamp);
  if (options.signature !== undefined) headers['x-slack-signature'] = options.signature;
  if (options.unsigned) {
    delete headers['x-slack-signature'];
    delete headers['x-slack-request-timestamp'];
  }
  const started = performance.now();
  const response = await fetch(`${url}/slack/events`, { method: 'POST', headers, body: rawBody });
  const text = await response.text();
  const ms = performance.now() - started;
  let json: Record<string, unknown> | undefined;
  try {
    json = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
  } catch {
    json = undefined;
  }
  return { status: response.status, text, json, ms };
}

export { commandBody, interactionBody, slackSignature };
