import type { WebClient } from '@slack/web-api';
import type { Logger } from '../logger.ts';
import { createWebClient } from '../slack/create-web-client.ts';
import { NOTICE_TIMING, type NoticeTiming } from './notice-timing.ts';

/**
 * The scheduler's own Web API client, never the interactive one: its retries and rate-limit waits
 * stay in its own queue. Every attempt has a timeout and 429s come back to the scheduler, which waits
 * them out within its budget, so a post never outlives the claim it is sent under.
 */
export function createNoticeClient(options: {
  token: string;
  slackApiUrl?: string;
  logger: Logger;
  timing?: Pick<NoticeTiming, 'callTimeoutMs' | 'retries' | 'backoffMaxMs'>;
}): WebClient {
  const timing = options.timing ?? NOTICE_TIMING;
  return createWebClient({
    token: options.token,
    slackApiUrl: options.slackApiUrl,
    logger: options.logger.child({ component: 'scheduler' }),
    retries: timing.retries,
    timeoutMs: timing.callTimeoutMs,
    backoffMaxMs: timing.backoffMaxMs,
    rejectRateLimitedCalls: true,
  });
}
