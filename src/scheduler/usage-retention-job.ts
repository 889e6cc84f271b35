import cron from 'node-cron';
import type { Clock } from '../clock.ts';
import type { Logger } from '../logger.ts';
import { dropOldUseHours } from '../services/usage-retention.ts';
import type { Db } from '../store/database.ts';
import { cronLogger } from './start-scheduler.ts';

/** Hourly, at a minute of its own: the table then holds 30 days and at most one hour more. */
export const USAGE_RETENTION_CRON = '23 * * * *';

export interface UsageRetentionDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
}

/** One retention run: drops hourly use counts past 30 days; returns how many rows went. */
export async function runUsageRetention(deps: UsageRetentionDeps): Promise<number> {
  const { dropped, before } = await dropOldUseHours(deps);
  if (dropped > 0) {
    deps.logger.info(
      { dropped, before: before.toISOString() },
      'dropped hourly use counts older than 30 days',
    );
  }
  return dropped;
}

/**
 * Runs the retention on its cron cadence, whether or not Slack is configured (the verify API counts
 * uses in every mode). A failed run is logged; the next hour's run drops what this one did not.
 */
export function startUsageRetention(deps: UsageRetentionDeps & { expression?: string }): {
  tick(): Promise<void>;
  stop(): Promise<void>;
} {
  const logger = deps.logger.child({ component: 'usage-retention' });
  let running: Promise<void> | undefined;
  const tick = () => {
    running = runUsageRetention({ ...deps, logger }).then(
      () => {},
      (error: unknown) =>
        logger.error({ err: error }, 'dropping old use counts failed; the next run retries'),
    );
    return running;
  };
  const task = cron.schedule(deps.expression ?? USAGE_RETENTION_CRON, tick, {
    name: 'rekey-usage-retention',
    noOverlap: true,
    logger: cronLogger(logger),
  });
  return {
    tick,
    stop: async () => {
      await task.destroy();
      await running;
    },
  };
}
