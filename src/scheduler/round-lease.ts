import type { Clock } from '../clock.ts';
import type { Logger } from '../logger.ts';
import { renewNoticeClaims } from '../services/notify-expiring.ts';
import type { Db } from '../store/database.ts';
import type { NoticeTiming } from './notice-timing.ts';

/**
 * The claims of one round and when each one's lease ends. While the round is being sent they are
 * renewed every `renewEveryMs`; a claim the renewal no longer finds (another replica took it over after
 * a missed renewal) is dropped. `usable` is the check before each post: a post may only start while
 * its claims will outlast it (see notice-timing.ts for the arithmetic).
 */
export class RoundLease {
  /** Notice id → when its lease ends (application clock, ms). */
  private readonly ends = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;
  private renewing: Promise<void> | undefined;

  constructor(
    private readonly deps: { db: Db; clock: Clock; logger: Logger; instanceId: string },
    claimed: readonly { id: string }[],
    claimedAt: Date,
    private readonly timing: NoticeTiming & { postBudgetMs: number },
  ) {
    for (const n of claimed) this.ends.set(n.id, claimedAt.getTime() + timing.leaseMs);
    this.timer = setInterval(() => this.renew(), timing.renewEveryMs);
    // A pending renewal must never keep a finished process alive.
    this.timer.unref();
  }

  /** The ids among `ids` whose lease lasts at least one whole post from now. */
  usable(ids: readonly string[]): Set<string> {
    const needed = this.deps.clock.now().getTime() + this.timing.postBudgetMs;
    return new Set(ids.filter((id) => (this.ends.get(id) ?? Number.NEGATIVE_INFINITY) >= needed));
  }

  private renew(): void {
    if (this.renewing || this.ends.size === 0) return;
    const ids = [...this.ends.keys()];
    const at = this.deps.clock.now();
    this.renewing = renewNoticeClaims(
      { db: this.deps.db },
      { ids, instanceId: this.deps.instanceId, now: at },
    )
      .then(
        (held) => {
          const kept = new Set(held);
          for (const id of ids) {
            if (kept.has(id)) this.ends.set(id, at.getTime() + this.timing.leaseMs);
            else this.ends.delete(id);
          }
          if (kept.size < ids.length) {
            this.deps.logger.warn(
              { lost: ids.length - kept.size },
              'some notice claims were taken over by another replica; this one will not send them',
            );
          }
        },
        (error: unknown) => {
          // Nothing is lost: posts stop starting once the leases run short, and the next tick retries.
          this.deps.logger.warn(
            { err: error },
            'could not renew notice claims; posting only while they last',
          );
        },
      )
      .finally(() => {
        this.renewing = undefined;
      });
  }

  /** Stops renewing and waits for a renewal in flight, so it cannot land after the round is recorded. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.renewing;
  }
}
