import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import cron, { type Logger as CronLogger, type ScheduledTask } from 'node-cron';
import type { Logger } from '../logger.ts';
import { type NoticeJobDeps, runNoticeTick } from './notice-job.ts';

export interface Scheduler {
  task: ScheduledTask;
  instanceId: string;
  /** Runs one tick now (what cron calls). */
  tick(): Promise<void>;
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

/**
 * The cron wiring only: every `expression` (REKEY_CRON), one tick, never two at once in this process
 * (`noOverlap`). Exactly-once across replicas comes from the database claims, not from node-cron.
 */
export function startScheduler(
  expression: string,
  deps: Omit<NoticeJobDeps, 'instanceId' | 'signal'> & { instanceId?: string },
): Scheduler {
  const logger = deps.logger.child({ component: 'scheduler' });
  const instanceId = deps.instanceId ?? newInstanceId();
  // Stopping ends a tick's waits (rate limits, channel pacing) at once; posts in flight end within
  // their timeout, and whatever was not sent is given back for the next process to send.
  const stopping = new AbortController();
  let running: Promise<void> | undefined;
  const tick = () => {
    running = runNoticeTick({ ...deps, logger, instanceId, signal: stopping.signal }).then(
      () => {},
      (error: unknown) => {
        // A failed tick changes nothing it did not commit; the next tick picks up where this one stopped.
        deps.metrics?.databaseErrors.inc({ operation: 'scheduler_tick' });
        logger.error({ err: error }, 'scheduler tick failed; the next tick retries');
      },
    );
    return running;
  };
  const task = cron.schedule(expression, tick, {
    name: 'rekey-notices',
    noOverlap: true,
    logger: cronLogger(logger),
  });
  logger.info({ cron: expression, instanceId }, 'scheduler started');
  return {
    task,
    instanceId,
    tick,
    stop: async () => {
      await task.destroy();
      stopping.abort();
      await running;
    },
  };
}
