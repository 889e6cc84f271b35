import { slackSignature } from '../../src/fake-slack/signing.ts';
import { commandBody, interactionBody, postSignedToBot } from '../../src/fake-slack/slack-payloads.ts';

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
  const { signingSecret, ...forge } = options;
  const started = performance.now();
  const answer = await postSignedToBot(url, rawBody, signingSecret, forge);
  return { ...answer, ms: performance.now() - started };
}

export { commandBody, interactionBody, slackSignature };
