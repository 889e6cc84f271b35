import type { Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import type { Database, Db } from '../store/database.ts';
import { runCanaryAlarmRound } from './canary-alarm-job.ts';
import { runCutoverTick } from './cutover-job.ts';
import { createNoticeClient } from './notice-client.ts';
import { runNoticeTick } from './notice-job.ts';
import { retryPolicyDigests } from './policy-digest-job.ts';
import { runPolicyNoticeTick } from './policy-notice-job.ts';
import type { SlackPoster } from './slack-poster.ts';
import { type ScheduledSource, type Scheduler, startScheduler } from './start-scheduler.ts';
import { startUsageRetention } from './usage-retention-job.ts';

export type { SlackPoster } from './slack-poster.ts';
export type { ScheduledSource, Scheduler, SourceDeps } from './start-scheduler.ts';

/**
 * Every kind of notice the scheduler delivers, each through the claim → send → record engine
 * (notice-rounds.ts; docs/architecture.md#notices-exactly-once). A `cron` source runs on every
 * REKEY_CRON tick, in this order; a `prompt` source is delivered within seconds of being recorded:
 * the service that records it calls `announceNoticeDue(tx, '<name>')` (src/store/notice-wakeups.ts)
 * in the same transaction, and every scheduler also sweeps it every few seconds. Any source is woken
 * when a claim of its own is given back (the release triggers name it).
 *
 * | name   | cadence | what                                                            | code                 |
 * | ------ | ------- | --------------------------------------------------------------- | -------------------- |
 * | grace  | cron    | reminders before an old key stops, the alert when it does, and  | notice-job.ts        |
 * |        |         | the alert when an expired key is still sent                     |                      |
 * | policy | cron    | reminders before a key's rotation is due, the overdue notice    | policy-notice-job.ts |
 * | digest | cron    | the weekly digest's channels still owed it (REKEY_DIGEST_CRON    | policy-digest-job.ts |
 * |        |         | records them as owed)                                            |                      |
 * | cutover| cron    | "every client seems to have moved" once an old key is quiet for | cutover-job.ts       |
 * |        |         | REKEY_QUIET_AFTER                                               |                      |
 * | canary | prompt  | a canary key was tried (each try's commit announces it)         | canary-alarm-job.ts  |
 * | leak   | prompt  | the leak outbox: thread reply, DMs, alert (brought by the Slack  | src/slack/           |
 * |        |         | surface, which has the client it needs: `sources` below)         | leak-alerts.ts       |
 */
export const NOTICE_SOURCES: readonly ScheduledSource[] = [
  // The operation labels are the alert rules' (deploy/prometheus): kept as the ticks were named.
  { name: 'grace', cadence: 'cron', run: (deps) => runNoticeTick(deps), operation: 'scheduler_tick' },
  {
    name: 'policy',
    cadence: 'cron',
    run: (deps) => runPolicyNoticeTick({ ...deps, offsets: deps.policyOffsets }),
    operation: 'policy_tick',
  },
  { name: 'digest', cadence: 'cron', run: (deps) => retryPolicyDigests(deps), operation: 'digest_retry' },
  {
    name: 'cutover',
    cadence: 'cron',
    run: async ({ quietAfterMs, ...deps }) =>
      quietAfterMs === undefined ? undefined : runCutoverTick({ ...deps, quietAfterMs }),
  },
  { name: 'canary', cadence: 'prompt', run: (deps) => runCanaryAlarmRound(deps), operation: 'canary_alarms' },
];

/**
 * Starts the notice scheduler for the app: REKEY_CRON cadence, REKEY_REMINDERS offsets, posting through
 * `slackClient` (the Slack surface's notice client, never the interactive one) or, with Slack
 * credentials, a notice client of its own. Without either (local mode
 * before a client is supplied) there is nobody to post to: it does not start, and says so at debug.
 */
export function startNotices(options: {
  config: Config;
  db: Db;
  /** The database's raw client, to LISTEN for wake-ups (without it: the sweep and REKEY_CRON only). */
  database?: Database;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  slackClient?: SlackPoster;
  /** Sources a surface brings (the Slack surface's leak outbox), run after NOTICE_SOURCES. */
  sources?: readonly ScheduledSource[];
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
    database: options.database,
    clock: options.clock,
    poster,
    offsets: config.REKEY_REMINDERS,
    policyOffsets: config.REKEY_POLICY_REMINDERS,
    quietAfterMs: config.REKEY_QUIET_AFTER,
    digestCron: config.REKEY_DIGEST_CRON,
    sources: [...NOTICE_SOURCES, ...(options.sources ?? [])],
    logger,
    metrics: options.metrics,
  });
}

/** What `startScheduledJobs` started, to be stopped on shutdown before the database closes. */
export interface ScheduledJobs {
  /** Undefined when there is no Slack client to post with (see startNotices). */
  notices: Scheduler | undefined;
  usageRetention: { tick(): Promise<void>; stop(): Promise<void> };
  /** Stops every job and waits for their running ticks; the first failure is thrown once all stopped. */
  stop(): Promise<void>;
}

/**
 * Every scheduled job of the process — the scheduler surface's one registration file. Started once the
 * HTTP server is up:
 *
 * | job             | cadence                | does                                        | code                   |
 * | --------------- | ---------------------- | ------------------------------------------- | ---------------------- |
 * | notices         | REKEY_CRON, wake-ups,  | every NOTICE_SOURCES entry above (only with | start-scheduler.ts     |
 * |                 | a sweep every 3 s      | a Slack client); a heartbeat every 2 s      | instance-liveness.ts   |
 * | weekly digest   | REKEY_DIGEST_CRON      | records each alert channel's digest as owed | policy-digest-job.ts   |
 * |                 | (UTC)                  | (keys due within 7 days or overdue)         |                        |
 * | usage retention | hourly, at minute 23   | drops hourly use counts older than 30 days  | usage-retention-job.ts |
 */
export function startScheduledJobs(options: Parameters<typeof startNotices>[0]): ScheduledJobs {
  const notices = startNotices(options);
  // In every mode, Slack or not: the verify API counts uses whether or not anyone is reminded.
  const usageRetention = startUsageRetention({
    db: options.db,
    clock: options.clock,
    logger: options.logger,
  });
  return {
    notices,
    usageRetention,
    async stop() {
      const stopped = await Promise.allSettled([notices?.stop(), usageRetention.stop()]);
      const failed = stopped.find((outcome) => outcome.status === 'rejected');
      if (failed) throw failed.reason;
    },
  };
}
