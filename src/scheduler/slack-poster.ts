import type { KnownBlock } from '@slack/types';
import { describeSlackError } from '../slack/slack-errors.ts';

/**
 * The one Slack call the scheduler makes. A `WebClient` fits, and so does a test stub. A user id as
 * `channel` posts in that user's DM with the app.
 */
export interface SlackPoster {
  chat: {
    postMessage(args: { channel: string; text: string; blocks?: KnownBlock[] }): Promise<unknown>;
  };
}

/**
 * A short, key-free line for `last_error` and logs: Slack's own reason when Slack refused the call (read
 * the same way as on the interactive surfaces), else the error's code and message.
 */
export function noticeErrorText(error: unknown): string {
  // Slack's own refusal (`not_in_channel`, …) is the whole story; other failures keep their message,
  // which says what the code alone does not (how long a rate limit asked to wait, which timeout hit).
  if ((error as { code?: unknown } | undefined)?.code === 'slack_webapi_platform_error')
    return `slack: ${describeSlackError(error).code}`;
  const errorCode = (error as { code?: unknown } | undefined)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return `${typeof errorCode === 'string' ? `${errorCode}: ` : ''}${message}`.slice(0, 500);
}
