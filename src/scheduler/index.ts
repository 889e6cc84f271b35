import type { Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import type { Db } from '../store/database.ts';
import { createNoticeClient } from './notice-client.ts';
import type { SlackPoster } from './slack-poster.ts';
import { type Scheduler, startScheduler } from './start-scheduler.ts';

export type { SlackPoster } from './slack-poster.ts';
export type { Scheduler } from './start-scheduler.ts';

/**
 * Starts the notice scheduler for the app: REKEY_CRON cadence, REKEY_REMINDERS offsets, posting through
 * `slackClient` (the Slack surface's notice client, never the interactive one) or, with Slack
 * credentials, a notice client of its own. Without either (local mode
 * before a client is supplied) there is nobody to post to: it does not start, and says so at debug.
 */
export function startNotices(options: {
  config: Config;
  db: Db;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  slackClient?: SlackPoster;
}): Scheduler | undefined {
  const { config, logger } = options;
  const poster =
    options.slackClient ??
    (config.slackMode !== 'local' && config.SLACK_BOT_TOKEN
      ? createNoticeClient({ token: config.SLACK_BOT_TOKEN, slackApiUrl: config.SLACK_API_URL, logger })
      : undefined);
  if (!poster) {
    logger.debug('no Slack client: the reminder scheduler is not running, nothing will be posted');
    return undefined;
  }
  return startScheduler(config.REKEY_CRON, {
    db: options.db,
    clock: options.clock,
    poster,
    offsets: config.REKEY_REMINDERS,
    logger,
    metrics: options.metrics,
  });
}
