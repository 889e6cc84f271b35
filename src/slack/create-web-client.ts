import { LogLevel, type Logger as SlackLogger, WebClient } from '@slack/web-api';
import type { Logger } from '../logger.ts';

/** Adapts pino to the Slack SDK's logger, so the SDK never writes to the console on its own. */
export function slackLogger(logger: Logger): SlackLogger {
  const child = logger.child({ component: 'slack-sdk' });
  return {
    debug: (...msg) => child.debug(msg.join(' ')),
    info: (...msg) => child.info(msg.join(' ')),
    warn: (...msg) => child.warn(msg.join(' ')),
    error: (...msg) => child.error(msg.join(' ')),
    setLevel: () => {},
    getLevel: () => LogLevel.INFO,
    setName: () => {},
  };
}

/** Each HTTP attempt of an interactive Web API call is abandoned after this long (the SDK waits forever). */
export const SLACK_CALL_TIMEOUT_MS = 10_000;

/**
 * A Web API client with its own request queue: Bolt's listeners and App Home share one, the scheduler
 * has another (a 429 pauses the whole queue of the client that got it, and a `views.open` must not
 * wait behind a burst of notices). `slackApiUrl` points it at a fake in tests and local mode. It waits
 * out 429s (Retry-After) unless `rejectRateLimitedCalls`, which hands them to the caller.
 */
export function createWebClient(options: {
  token: string;
  slackApiUrl?: string;
  logger: Logger;
  retries?: number;
  timeoutMs?: number;
  backoffMaxMs?: number;
  rejectRateLimitedCalls?: boolean;
}): WebClient {
  const backoffMaxMs = options.backoffMaxMs ?? 5000;
  return new WebClient(options.token, {
    slackApiUrl: options.slackApiUrl ? `${options.slackApiUrl.replace(/\/+$/, '')}/` : undefined,
    logger: slackLogger(options.logger),
    timeout: options.timeoutMs ?? SLACK_CALL_TIMEOUT_MS,
    retryConfig: {
      retries: options.retries ?? 3,
      factor: 2,
      // p-retry refuses a first pause longer than the longest one.
      minTimeout: Math.min(500, backoffMaxMs),
      maxTimeout: backoffMaxMs,
    },
    rejectRateLimitedCalls: options.rejectRateLimitedCalls ?? false,
  });
}
