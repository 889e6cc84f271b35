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

/**
 * The one Web API client of the process (Bolt's, the scheduler's and App Home's calls all go through
 * it). `slackApiUrl` points it at a fake in tests and local mode. It waits out 429s (Retry-After).
 */
export function createWebClient(options: {
  token: string;
  slackApiUrl?: string;
  logger: Logger;
  retries?: number;
}): WebClient {
  return new WebClient(options.token, {
    slackApiUrl: options.slackApiUrl ? `${options.slackApiUrl.replace(/\/+$/, '')}/` : undefined,
    logger: slackLogger(options.logger),
    retryConfig: { retries: options.retries ?? 3, factor: 2, minTimeout: 500, maxTimeout: 5000 },
    rejectRateLimitedCalls: false,
  });
}
