import type { Logger } from '../logger.ts';
import { heartbeat, registerInstance, retireInstance } from '../services/instance-liveness.ts';
import type { Db } from '../store/database.ts';
import type { NoticeTiming } from './notice-timing.ts';

/**
 * What the notice engine asks of whoever holds its claims (notice-rounds.ts): be a live instance before
 * claiming, and say before each post whether the claims are surely still its own.
 */
export interface ClaimHolder {
  /** Says this instance is alive (its row exists) right before it claims; the generation its claims get. */
  confirm(): Promise<number>;
  /** True while claims made in `generation` are surely still this instance's: a post may start. */
  mayPost(generation: number): boolean;
  /**
   * The outcome of claims could not be recorded: let go of every claim at once (they are given back
   * to the others) rather than hold, alive, what this instance no longer knows it holds.
   */
  forfeit(): void;
}

/** For a one-off run with no heartbeat (a test, a script): makes sure the row its claims name exists. */
export function oneOffHolder(deps: { db: Db; instanceId: string }): ClaimHolder {
  return {
    confirm: async () => {
      await registerInstance(deps, deps.instanceId);
      return 0;
    },
    mayPost: () => true,
    forfeit: () => {},
  };
}

/**
 * A scheduler's life as seen by the others (docs/architecture.md#notices-exactly-once): a heartbeat
 * every `beatEveryMs` that also deletes instances not heard from for `deadAfterMs`, freeing their
 * claims, and on stop the deletion of its own row, which gives back at once whatever it still held.
 *
 * Its own view of being alive is measured on the monotonic clock (`performance.now()`), never on the
 * application Clock: a test or an operator moving that clock by hours must not make an instance think
 * itself dead, or alive. A generation counts its lives: when a heartbeat finds the row gone (the
 * others found it dead while it was paused or cut off), its earlier claims were released, and a
 * round claimed in an earlier generation must not post any more.
 */
export class InstanceLiveness implements ClaimHolder {
  private generation = 0;
  /** performance.now() when the last heartbeat that succeeded was sent. */
  private confirmedAt = Number.NEGATIVE_INFINITY;
  private beating: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private started = false;
  private forfeited = false;
  private failing = false;
  private stopped = false;

  constructor(
    private readonly deps: {
      db: Db;
      instanceId: string;
      logger: Logger;
      timing: Pick<NoticeTiming, 'beatEveryMs' | 'deadAfterMs' | 'postGuardMs'>;
      /** Instances were found dead and their claims released: there may be work to take over. */
      onReaped?: (instanceIds: string[]) => void;
    },
  ) {}

  get instanceId(): string {
    return this.deps.instanceId;
  }

  /** Registers the instance and starts beating. A failed first heartbeat is retried on the cadence. */
  async start(): Promise<void> {
    this.timer = setInterval(() => void this.beat(), this.deps.timing.beatEveryMs);
    // A heartbeat due must never keep a finished process alive.
    this.timer.unref();
    await this.beat();
  }

  async confirm(): Promise<number> {
    await this.beat();
    return this.generation;
  }

  mayPost(generation: number): boolean {
    return (
      !this.stopped &&
      generation === this.generation &&
      performance.now() - this.confirmedAt < this.deps.timing.postGuardMs
    );
  }

  forfeit(): void {
    this.forfeited = true;
    // Rounds in progress stop posting at once; the next heartbeat deletes the row, releasing the claims.
    this.generation += 1;
  }

  /** One heartbeat at a time; a caller arriving during one waits for it (it is as fresh as theirs). */
  private beat(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.beating ??= this.beatOnce().finally(() => {
      this.beating = undefined;
    });
    return this.beating;
  }

  private async beatOnce(): Promise<void> {
    const sentAt = performance.now();
    try {
      if (this.forfeited) {
        await retireInstance(this.deps, this.deps.instanceId);
        this.forfeited = false;
        this.deps.logger.warn(
          { instanceId: this.deps.instanceId },
          'gave back every notice claim this instance held: their outcome could not be recorded',
        );
      }
      const { created, reaped } = await heartbeat(this.deps, {
        instanceId: this.deps.instanceId,
        deadAfterMs: this.deps.timing.deadAfterMs,
      });
      if (created && this.started) {
        this.generation += 1;
        this.deps.logger.warn(
          { instanceId: this.deps.instanceId },
          'this instance had been found dead (paused or cut off from the database): the notices it held were released to the others',
        );
      }
      this.started = true;
      this.confirmedAt = sentAt;
      if (this.failing) this.deps.logger.info('notice heartbeat works again');
      this.failing = false;
      if (reaped.length > 0) {
        this.deps.logger.warn(
          { instances: reaped },
          'found instances that stopped answering: their notice claims were released',
        );
        this.deps.onReaped?.(reaped);
      }
    } catch (error) {
      // Logged once per streak. Posts stop starting once the last success is postGuardMs old.
      if (!this.failing) {
        this.deps.logger.warn(
          { err: error },
          'notice heartbeat failed; this instance stops starting posts until it works again',
        );
      }
      this.failing = true;
    }
  }

  /**
   * Stops beating and deletes the instance: every claim it still holds is released at once, its
   * subject due again and every scheduler woken. Call it once the rounds have recorded what they sent.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.beating;
    try {
      await retireInstance(this.deps, this.deps.instanceId);
    } catch (error) {
      this.deps.logger.warn(
        { err: error },
        'could not give back this instance’s notice claims; the others take them over once it is found dead',
      );
    }
  }
}
