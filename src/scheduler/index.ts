import type { Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import type { Database, Db } from '../store/database.ts';
import { type CanaryAlarms, startCanaryAlarms } from './canary-alarm-job.ts';
import { createNoticeClient } from './notice-client.ts';
import type { SlackPoster } from './slack-poster.ts';
import { type Scheduler, startScheduler } from './start-scheduler.ts';
import { startUsageRetention } from './usage-retention-job.ts';

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
  const poster = noticePoster(options);
  if (!poster) {
    logger.debug('no Slack client: the reminder scheduler is not running, nothing will be posted');
    return undefined;
  }
  return startScheduler(config.REKEY_CRON, {
    db: options.db,
    clock: options.clock,
    poster,
    offsets: config.REKEY_REMINDERS,
    policyOffsets: config.REKEY_POLICY_REMINDERS,
    digestCron: config.REKEY_DIGEST_CRON,
    quietAfterMs: config.REKEY_QUIET_AFTER,
    logger,
    metrics: options.metrics,
  });
}

/** The Slack client notices are posted with: the surface's, or one of the scheduler's own (Slack mode). */
function noticePoster(options: Parameters<typeof startNotices>[0]): SlackPoster | undefined {
  const { config } = options;
  return (
    options.slackClient ??
    (config.slackMode !== 'local' && config.SLACK_BOT_TOKEN
      ? createNoticeClient({
          token: config.SLACK_BOT_TOKEN,
          slackApiUrl: config.SLACK_API_URL,
          logger: options.logger,
        })
      : undefined)
  );
}

/** What `startScheduledJobs` started, to be stopped on shutdown before the database closes. */
export interface ScheduledJobs {
  /** Undefined when there is no Slack client to post with (see startNotices). */
  notices: Scheduler | undefined;
  /** Canary alarms, with the same Slack client and instance id as the notices (undefined without them). */
  canaryAlarms: CanaryAlarms | undefined;
  usageRetention: { tick(): Promise<void>; stop(): Promise<void> };
  /** Stops every job and waits for their running ticks; the first failure is thrown once all stopped. */
  stop(): Promise<void>;
}

/**
 * Every scheduled job of the process — the scheduler surface's one registration file. Started once the
 * HTTP server is up:
 *
 * | job             | cadence              | does                                          | code                   |
 * | --------------- | -------------------- | --------------------------------------------- | ---------------------- |
 * | notices         | REKEY_CRON           | reminders before an old key stops, and alerts | notice-job.ts          |
 * |                 |                      | when it does (only with a Slack client)       |                        |
 * | policy notices  | REKEY_CRON (same     | reminders before a key's rotation is due, and | policy-notice-job.ts   |
 * |                 | tick)                | the notice when it is overdue; digest retries | policy-digest-job.ts   |
 * | cutover notice  | REKEY_CRON (same     | "every client seems to have moved" once an    | cutover-job.ts         |
 * |                 | tick)                | old key is quiet for REKEY_QUIET_AFTER        |                        |
 * | weekly digest   | REKEY_DIGEST_CRON    | each alert channel's keys due within 7 days   | policy-digest-job.ts   |
 * |                 | (UTC)                | or overdue (only with a Slack client)         |                        |
 * | usage retention | hourly, at minute 23 | drops hourly use counts older than 30 days    | usage-retention-job.ts |
 * | canary alarms   | on each try (LISTEN) | a canary key was tried: its channel and       | canary-alarm-job.ts    |
 * |                 | and every 2 s        | maintainers (only with a Slack client)        |                        |
 */
export function startScheduledJobs(
  options: Parameters<typeof startNotices>[0] & {
    /** For LISTEN (canary tries wake their alarms at once); without it they wait for the sweep. */
    database?: Database;
  },
): ScheduledJobs {
  const slackClient = noticePoster(options);
  const notices = startNotices({ ...options, slackClient });
  const canaryAlarms =
    notices && slackClient
      ? startCanaryAlarms({
          db: options.db,
          clock: options.clock,
          poster: slackClient,
          logger: options.logger.child({ component: 'canary-alarms' }),
          metrics: options.metrics,
          instanceId: notices.instanceId,
          database: options.database,
        })
      : undefined;
  // In every mode, Slack or not: the verify API counts uses whether or not anyone is reminded.
  const usageRetention = startUsageRetention({
    db: options.db,
    clock: options.clock,
    logger: options.logger,
  });
  return {
    notices,
    canaryAlarms,
    usageRetention,
    async stop() {
      const stopped = await Promise.allSettled([
        notices?.stop(),
        canaryAlarms?.stop(),
        usageRetention.stop(),
      ]);
      const failed = stopped.find((outcome) => outcome.status === 'rejected');
      if (failed) throw failed.reason;
    },
  };
}
