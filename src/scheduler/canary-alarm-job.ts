import {
  anyCanaryAlarmDue,
  type ClaimedCanaryAlarm,
  claimCanaryAlarms,
  completeCanaryAlarms,
  onCanaryTried,
} from '../services/canary-alarms.ts';
import { buildCanaryAlarmMessage, CANARY_ALARMS_PER_MESSAGE } from '../slack/blocks/canary-alarm-message.ts';
import type { Database } from '../store/database.ts';
import { type NoticeSource, type RoundsDeps, runNoticeRounds, type TickReport } from './notice-rounds.ts';

/**
 * Canary alarms as a notice source (docs/architecture.md#canary-keys): claimed, sent and recorded by the
 * same engine as every notice, to the canary's alert channel and each maintainer.
 */
function canaryAlarms(deps: RoundsDeps): NoticeSource<ClaimedCanaryAlarm> {
  const db = { db: deps.db };
  return {
    anyDue: (now) => anyCanaryAlarmDue(db, now),
    claim: (now, limit, leaseMs) =>
      claimCanaryAlarms(db, { now, instanceId: deps.instanceId, leaseMs, limit }),
    prepare: async () => ({
      compose: (notices, audience) => buildCanaryAlarmMessage(notices, { audience }),
    }),
    order: (notices) => [...notices].sort((a, b) => a.dueAt.getTime() - b.dueAt.getTime()),
    perMessage: CANARY_ALARMS_PER_MESSAGE,
    complete: (results, now) => completeCanaryAlarms(db, { results, instanceId: deps.instanceId, now }),
  };
}

/** One round of canary alarms: whatever is due now is claimed, sent and recorded. */
export async function runCanaryAlarmRound(deps: RoundsDeps): Promise<TickReport> {
  const report = await runNoticeRounds(deps, canaryAlarms(deps));
  if (report.claimed > 0) deps.logger.warn({ tick: report }, 'canary alarm round: a canary key was tried');
  return report;
}

export interface CanaryAlarms {
  /** Runs a round now (or right after the running one). */
  wake(): void;
  /** Resolves when no round is running or asked for (tests). */
  idle(): Promise<void>;
  /** Resolves once LISTEN works (true) or has failed (false: the sweep alone delivers). */
  readonly listening: Promise<boolean>;
  stop(): Promise<void>;
}

/** How often the alarms are looked at without a wake-up: a quiet window's end, a retry, a missed NOTIFY. */
export const CANARY_SWEEP_MS = 2_000;

/**
 * Delivers canary alarms within seconds of a try on any replica: a round runs when the database
 * announces a try (LISTEN `rekey_canary_tried`, NOTIFY at the try's commit) and on a short sweep, which
 * also sends each "N more tries" alarm when its canary's quiet window ends. Rounds never overlap in this
 * process; across replicas the claims decide. A failed round is logged and counted, and the next wake-up
 * or sweep tries again.
 */
export function startCanaryAlarms(
  options: Omit<RoundsDeps, 'signal'> & { database?: Database; sweepMs?: number },
): CanaryAlarms {
  // Stopping ends a round's waits at once; whatever was not sent is given back for the next process.
  const stopping = new AbortController();
  const deps: RoundsDeps = { ...options, signal: stopping.signal };
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;
  const round = async () => {
    do {
      again = false;
      try {
        await runCanaryAlarmRound(deps);
      } catch (error) {
        deps.metrics?.databaseErrors.inc({ operation: 'canary_alarms' });
        deps.logger.error({ err: error }, 'canary alarm round failed; the next sweep retries');
      }
    } while (again && !stopped);
  };
  const wake = () => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = round().finally(() => {
      running = undefined;
    });
  };
  // LISTEN starts in the background: until it works (or if it never does), the sweep delivers.
  const listening = options.database
    ? onCanaryTried(options.database, wake).catch((error: unknown) => {
        deps.logger.warn(
          { err: error, sweepMs: options.sweepMs ?? CANARY_SWEEP_MS },
          'could not LISTEN for canary tries: their alarms go out at the next sweep instead',
        );
        return undefined;
      })
    : Promise.resolve(undefined);
  const sweep = setInterval(wake, options.sweepMs ?? CANARY_SWEEP_MS);
  sweep.unref();
  wake();
  return {
    wake,
    async idle() {
      while (running) await running;
    },
    listening: listening.then((unlisten) => unlisten !== undefined),
    async stop() {
      stopped = true;
      clearInterval(sweep);
      stopping.abort();
      await (await listening)?.();
      await running;
    },
  };
}
