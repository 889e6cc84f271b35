import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import cron, { type Logger as CronLogger, type ScheduledTask } from 'node-cron';
import type { Logger } from '../logger.ts';
import { listenForDueNotices } from '../services/notice-wakeups.ts';
import type { Database } from '../store/database.ts';
import { InstanceLiveness } from './instance-liveness.ts';
import type { RoundsDeps } from './notice-rounds.ts';
import { checkNoticeTiming } from './notice-timing.ts';
import { recordWeeklyDigests } from './policy-digest-job.ts';

/** What a source's run gets: the engine's deps, plus the offsets the built-in sources plan with. */
export interface SourceDeps extends RoundsDeps {
  /** REKEY_REMINDERS, in ms. */
  offsets: readonly number[];
  /** REKEY_POLICY_REMINDERS, in ms. */
  policyOffsets: readonly number[];
  /** REKEY_QUIET_AFTER, in ms: the cutover notice's silence (absent: the cutover source does nothing). */
  quietAfterMs?: number;
}

/**
 * A kind of notice the scheduler delivers (docs/architecture.md#notices-exactly-once). Its `name` is
 * what wakes it: `announceNoticeDue(tx, name)` in the transaction that recorded a notice, and the
 * release triggers when a claim is given back.
 */
export interface ScheduledSource {
  /** A short word (`NOTICE_SOURCE_NAME`), unique among the sources. */
  name: string;
  /**
   * `cron`: on every REKEY_CRON tick, in the order registered, and when woken. `prompt`: when woken
   * (within seconds of the announcing commit) and on every sweep (a few seconds), which catches what
   * a wake-up missed — one indexed statement per sweep when nothing is owed.
   */
  cadence: 'cron' | 'prompt';
  /** One run: claim what is due, send it, record it (usually `runNoticeRounds` with a NoticeSource). */
  run(deps: SourceDeps): Promise<unknown>;
  /** The `operation` label of `rekey_database_errors_total` when a run fails; `notices_<name>` by default. */
  operation?: string;
}

export interface Scheduler {
  task: ScheduledTask;
  /** The weekly digest's task (REKEY_DIGEST_CRON). */
  digestTask: ScheduledTask;
  instanceId: string;
  /** Resolves once the instance has said it is alive and wake-ups are listened for (or failed, retried). */
  ready: Promise<void>;
  /** Runs one tick now (what cron calls): every `cron` source, in order. */
  tick(): Promise<void>;
  /** Records the weekly digests as owed and sends them (what its cron calls). */
  digest(): Promise<void>;
  /** Runs one source now, as a wake-up does; resolves once that run (and one queued behind it) ended. */
  wake(source: string): Promise<void>;
  /** One sweep now (what its timer does): every `prompt` source. */
  sweep(): Promise<void>;
  /**
   * Stops the cadences, cuts running rounds short (what they did not send is given back), waits for
   * them, then deletes this instance: any claim still held is released at once and the others woken.
   */
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

export interface SchedulerDeps extends Omit<SourceDeps, 'instanceId' | 'signal' | 'holder'> {
  instanceId?: string;
  /** REKEY_DIGEST_CRON (read in UTC). */
  digestCron: string;
  /** Every notice source, in order (the registration list in index.ts). */
  sources: readonly ScheduledSource[];
  /** LISTENs here for wake-ups; without it only the sweep and REKEY_CRON find work. */
  database?: Database;
  /** How often `prompt` sources are looked at without a wake-up. */
  sweepEveryMs?: number;
}

/** Prompt sources are swept this often: what a missed wake-up can cost them. */
export const SWEEP_EVERY_MS = 3_000;

/**
 * Runs a source one run at a time in this process: a request while it runs queues one more run
 * (however many requests arrive meanwhile), so a wake-up during a round is never lost.
 */
class Lane {
  private running: Promise<void> | undefined;
  private queued: Promise<void> | undefined;
  constructor(private readonly run: () => Promise<void>) {}

  request(): Promise<void> {
    if (!this.running) {
      this.running = this.run().finally(() => {
        this.running = undefined;
      });
      return this.running;
    }
    this.queued ??= this.running.then(() => {
      this.queued = undefined;
      return this.request();
    });
    return this.queued;
  }

  async idle(): Promise<void> {
    await this.queued;
    await this.running;
  }
}

/**
 * The wiring of the notice engine in one process: REKEY_CRON ticks, the weekly digest, wake-ups by
 * NOTIFY, the sweep, and this instance's heartbeat. Exactly-once across replicas comes from the
 * database's claims, which belong to live instances; node-cron's `noOverlap` and the lanes only keep
 * one run of each source at a time within the process.
 */
export function startScheduler(expression: string, deps: SchedulerDeps): Scheduler {
  const logger = deps.logger.child({ component: 'scheduler' });
  const instanceId = deps.instanceId ?? newInstanceId();
  const timing = checkNoticeTiming(deps.timing);
  // Stopping ends a round's waits (rate limits, channel pacing) at once; a post in flight ends within
  // its timeout, and whatever was not sent is given back for the others to send.
  const stopping = new AbortController();
  const lanes = new Map<string, Lane>();
  const liveness = new InstanceLiveness({
    db: deps.db,
    instanceId,
    logger,
    timing,
    // A dead instance's claims were just released (the triggers wake everyone else): take part.
    onReaped: () => {
      for (const lane of lanes.values()) void lane.request();
    },
  });
  const job: SourceDeps = { ...deps, logger, instanceId, signal: stopping.signal, holder: liveness };
  // Each run fails alone: a failed run changes nothing it did not commit, and the next one retries.
  const step = async (operation: string, run: () => Promise<unknown>) => {
    try {
      await run();
    } catch (error) {
      deps.metrics?.databaseErrors.inc({ operation });
      logger.error({ err: error, operation }, 'scheduler run failed; the next one retries');
    }
  };
  for (const source of deps.sources) {
    if (lanes.has(source.name)) throw new Error(`two notice sources are named ${source.name}`);
    lanes.set(
      source.name,
      new Lane(async () => {
        if (!stopping.signal.aborted)
          await step(source.operation ?? `notices_${source.name}`, () => source.run(job));
      }),
    );
  }
  const cronSources = deps.sources.filter((s) => s.cadence === 'cron');
  const promptSources = deps.sources.filter((s) => s.cadence === 'prompt');

  const tick = async () => {
    for (const source of cronSources) {
      if (stopping.signal.aborted) return;
      await lanes.get(source.name)!.request();
    }
  };
  const wake = async (name: string) => {
    await lanes.get(name)?.request();
  };
  const sweep = async () => {
    await Promise.all(promptSources.map((s) => lanes.get(s.name)!.request()));
  };
  let digesting: Promise<void> | undefined;
  const digest = () => {
    digesting = (async () => {
      await step('weekly_digest', () => recordWeeklyDigests(job));
      await wake('digest');
    })();
    return digesting;
  };

  // Wake-ups: a commit that recorded (or gave back) a notice names its source.
  let wakeups: { close(): Promise<void> } | undefined;
  let listening: Promise<void> | undefined;
  let listenFailed = false;
  const listen = () => {
    if (!deps.database || wakeups || listening || stopping.signal.aborted) return listening;
    listening = listenForDueNotices(deps.database, (name) => void wake(name))
      .then(
        async (opened) => {
          if (stopping.signal.aborted) await opened.close();
          else wakeups = opened;
          if (listenFailed) logger.info('listening for notice wake-ups again');
          listenFailed = false;
        },
        (error: unknown) => {
          // Once per streak: the sweep and REKEY_CRON still deliver, only later.
          if (!listenFailed) {
            logger.warn(
              { err: error },
              'cannot listen for notice wake-ups; retrying at each sweep meanwhile',
            );
          }
          listenFailed = true;
        },
      )
      .finally(() => {
        listening = undefined;
      });
    return listening;
  };

  const ready = Promise.all([liveness.start(), listen()]).then(() => {});
  const sweeper = setInterval(() => {
    void listen();
    void sweep();
  }, deps.sweepEveryMs ?? SWEEP_EVERY_MS);
  sweeper.unref();
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
    ready,
    tick,
    digest,
    wake,
    sweep,
    stop: async () => {
      await task.destroy();
      await digestTask.destroy();
      clearInterval(sweeper);
      stopping.abort();
      await ready;
      await digesting;
      for (const lane of lanes.values()) await lane.idle();
      await wakeups?.close();
      // Last: every round has recorded what it sent; whatever is still claimed goes back at once.
      await liveness.stop();
    },
  };
}
