import type { DbOrTx } from '../store/database.ts';
import { recordDeliveries } from '../store/notifications-store.ts';
import { retryDelayMs } from './notice-plan.ts';

/** What every claimed notice (grace-period or policy) carries for its delivery bookkeeping. */
export interface DeliverableNotice {
  id: string;
  /** Recipients reached by earlier attempts: never messaged twice. */
  deliveredTo: string[];
  pending: Array<{ to: string }>;
  attempt: number;
  /** When the next notice of the same subject is due; null when none follows. */
  nextAt: Date | null;
}

export interface NoticeResult<N> {
  notice: N;
  reached: string[];
  error: string | null;
  /** Nothing failed, but not every recipient was tried (stopping, or the claim could not be kept). */
  givenBack: boolean;
}

export interface RecordedNotices<N> {
  sent: N[];
  failed: N[];
  /** Released unsent: due again at once, without counting as a failure. */
  givenBack: N[];
}

export interface NoticeOutcomes<N> extends RecordedNotices<N> {
  /** When a failed notice is tried again. */
  retryAt: (notice: N) => Date;
}

/**
 * Records what a round delivered, inside the caller's transaction: a notice is sent once every
 * recipient was reached, failed if a post to one of them failed, given back if the rest was never
 * tried. Only notices this instance still holds the claim of count. `retryAt`: a failed notice is
 * tried again after a backoff, but never later than the next notice of its subject, so a refused
 * reminder cannot hold back the notice that follows it.
 */
export async function recordNoticeOutcomes<N extends DeliverableNotice>(
  tx: DbOrTx,
  results: NoticeResult<N>[],
  instanceId: string,
  now: Date,
): Promise<NoticeOutcomes<N>> {
  const outcomes = results.map((r) => {
    const deliveredTo = [...new Set([...r.notice.deliveredTo, ...r.reached])];
    const complete = r.notice.pending.every((p) => deliveredTo.includes(p.to));
    return {
      result: r,
      outcome: {
        id: r.notice.id,
        deliveredTo,
        complete,
        givenBack: !complete && r.givenBack,
        error: r.error,
      },
    };
  });
  const updated = new Set(
    await recordDeliveries(
      tx,
      outcomes.map((o) => o.outcome),
      instanceId,
      now,
    ),
  );
  const mine = outcomes.filter((o) => updated.has(o.outcome.id));
  const retryAt = (n: N) =>
    new Date(
      Math.min(now.getTime() + retryDelayMs(n.attempt), n.nextAt?.getTime() ?? Number.POSITIVE_INFINITY),
    );
  return {
    sent: mine.filter((o) => o.outcome.complete).map((o) => o.result.notice),
    failed: mine.filter((o) => !o.outcome.complete && !o.outcome.givenBack).map((o) => o.result.notice),
    givenBack: mine.filter((o) => o.outcome.givenBack).map((o) => o.result.notice),
    retryAt,
  };
}
