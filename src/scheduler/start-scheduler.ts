import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import cron, { type Logger as CronLogger, type ScheduledTask } from 'node-cron';
import type { Logger } from '../logger.ts';
import { runCutoverTick } from './cutover-job.ts';
import { type NoticeJobDeps, runNoticeTick } from './notice-job.ts';
import { retryPolicyDigests, runPolicyDigest } from './policy-digest-job.ts';
import { runPolicyNoticeTick } from './policy-notice-job.ts';

export interface Scheduler {
  task: ScheduledTask;
  /** The weekly digest's task (REKEY_DIGEST_CRON). */
  digestTask: ScheduledTask;
  instanceId: string;
  /** Runs one tick now (what cron calls). */
  tick(): Promise<void>;
  /** Runs the weekly digest now (what its cron calls). */
  digest(): Promise<void>;
  /** Stops the cadence, cuts a running tick short (unsent notices are given back) and waits for it. */
  stop(): Promise<void>;
}

/** node-cron writes to the console unless it has a logger: send it to pino instead. */
export function cronLogger(logger: Logger): CronLogger {
  return {
    info: (message) => logger.info(message),
    warn: (message) => logger.warn(message),
    error: (message, err) => logger.error({ err: err ?? message }, String(message)),
    debug: (message, err) => logger.debug({ err }, String(message)),
  };
}

export function newInstanceId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

export interface SchedulerDeps extends Omit<NoticeJobDeps, 'instanceId' | 'signal'> {
  instanceId?: string;
  /** REKEY_POLICY_REMINDERS, in ms. */
  policyOffsets: readonly number[];
  /** REKEY_DIGEST_CRON (read in UTC). */
  digestCron: string;
  /** REKEY_QUIET_AFTER, in ms: the cutover notice's silence (none: the cutover notice does not run). */
  quietAfterMs?: number;
}

/**
 * The cron wiring only: every `expression` (REKEY_CRON), one tick — grace-period notices, then
 * rotation-policy notices, then cutover notices, then any weekly digest owed a retry — never two at once in this process
 * (`noOverlap`); and the weekly digest on its own cadence. Exactly-once across replicas comes from
 * the database claims, not from node-cron.
 */
export function startScheduler(expression: string, deps: SchedulerDeps): Scheduler {
  const logger = deps.logger.child({ component: 'scheduler' });
  const instanceId = deps.instanceId ?? newInstanceId();
  // Stopping ends a tick's waits (rate limits, channel pacing) at once; posts in flight end within
  // their timeout, and whatever was not sent is given back for the next process to send.
  const stopping = new AbortController();
  const job = { ...deps, logger, instanceId, signal: stopping.signal };
  let running: Promise<void> | undefined;
  let digesting: Promise<void> | undefined;
  // Each step fails alone: a failed step changes nothing it did not commit, and the next tick retries.
  const step = async (operation: string, run: () => Promise<unknown>) => {
    try {
      await run();
    } catch (error) {
      deps.metrics?.databaseErrors.inc({ operation });
      logger.error({ err: error, operation }, 'scheduler tick failed; the next tick retries');
    }
  };
  const tick = () => {
    running = (async () => {
      await step('scheduler_tick', () => runNoticeTick(job));
      if (stopping.signal.aborted) return;
      await step('policy_tick', () => runPolicyNoticeTick({ ...job, offsets: deps.policyOffsets }));
      if (stopping.signal.aborted) return;
      const { quietAfterMs } = deps;
      if (quietAfterMs !== undefined)
        await step('cutover_tick', () => runCutoverTick({ ...job, quietAfterMs }));
      if (stopping.signal.aborted) return;
      await step('digest_retry', () => retryPolicyDigests(job));
    })();
    return running;
  };
  const digest = () => {
    digesting = step('weekly_digest', () => runPolicyDigest(job));
    return digesting;
  };
  const task = cron.schedule(expression, tick, {
    name: 'rekey-notices',
    noOverlap: true,
    logger: cronLogger(logger),
  });
  const digestTask = cron.schedule(deps.digestCron, digest, {
    name: 'rekey-policy-digest',
    noOverlap: true,
    timezone: 'Etc/UTC',
    logger: cronLogger(logger),
  });
  logger.info({ cron: expression, digestCron: deps.digestCron, instanceId }, 'scheduler started');
  return {
    task,
    digestTask,
    instanceId,
    tick,
    digest,
    stop: async () => {
      await task.destroy();
      await digestTask.destroy();
      stopping.abort();
      await running;
      await digesting;
    },
  };
}
