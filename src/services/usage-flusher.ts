import type { Logger } from '../logger.ts';
import type { Db } from '../store/database.ts';
import { addUseCounts } from '../store/usage-store.ts';
import type { UsageCounter } from './usage-counter.ts';

export interface UsageFlusher {
  /** Writes what has been counted so far (after any flush already running). */
  flush(): Promise<void>;
  /** Stops the cadence and writes what is still pending, once: called on shutdown, before the database closes. */
  stop(): Promise<void>;
}

/**
 * Writes the counter's counts every `intervalMs` (REKEY_USAGE_FLUSH) in one additive statement, so
 * replicas on one database add up exactly. The next flush is timed from the end of the previous one,
 * so flushes never overlap however slow the database is. A failed write puts the counts back in the
 * counter for the next flush and is logged once per streak of failures, not every interval.
 */
export function startUsageFlusher(deps: {
  counter: UsageCounter;
  db: Db;
  intervalMs: number;
  logger: Logger;
  /** Told when writes start failing and when they work again (the `rekey_usage_flush_failing` gauge). */
  onFailingChange?: (failing: boolean) => void;
}): UsageFlusher {
  const { counter, logger } = deps;
  let failing = false;
  let stopped = false;
  let running: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;

  /** One write; `final` when nothing will retry it (shutdown). Never throws. */
  const writeOnce = async (final: boolean): Promise<void> => {
    const counts = counter.drain();
    if (counts.length === 0) return;
    try {
      await addUseCounts(deps.db, counts);
      if (failing) {
        logger.info({ entries: counts.length }, 'usage counts are being written again');
        deps.onFailingChange?.(false);
      }
      failing = false;
    } catch (error) {
      if (final) {
        logger.error(
          { err: error, entries: counts.length },
          'could not write the last usage counts before stopping: the uses since the last flush are not counted',
        );
        return;
      }
      counter.restore(counts);
      if (!failing) {
        logger.error(
          { err: error, entries: counts.length, retryInMs: deps.intervalMs },
          'could not write usage counts: keeping them in memory and trying again at each flush',
        );
        deps.onFailingChange?.(true);
      }
      failing = true;
    }
  };

  const flush = async (): Promise<void> => {
    while (running) await running;
    running = writeOnce(false).finally(() => {
      running = undefined;
    });
    return running;
  };

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      void flush().finally(schedule);
    }, deps.intervalMs);
    // Counting must never keep a process alive on its own.
    timer.unref();
  };
  schedule();

  return {
    flush,
    async stop() {
      if (stopped) return;
      stopped = true;
      clearTimeout(timer);
      while (running) await running;
      await writeOnce(true);
    },
  };
}
