import type { KnownBlock } from '@slack/types';

/**
 * The one Slack call the scheduler makes. A `WebClient` fits, and so does a test stub. A user id as
 * `channel` posts in that user's DM with the app.
 */
export interface SlackPoster {
  chat: {
    postMessage(args: { channel: string; text: string; blocks?: KnownBlock[] }): Promise<unknown>;
  };
}

/** A short, key-free description of a failed Slack call, for `last_error` and logs. */
export function describeSlackError(error: unknown): string {
  const data = (error as { data?: { error?: unknown } } | undefined)?.data;
  if (data && typeof data.error === 'string') return `slack: ${data.error}`;
  const code = (error as { code?: unknown } | undefined)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return `${typeof code === 'string' ? `${code}: ` : ''}${message}`.slice(0, 500);
}
