import type { Clock } from '../clock.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import { EXPIRED_KIND } from '../services/notice-plan.ts';
import {
  type ClaimedNotice,
  claimDueNotices,
  completeNotices,
  type NoticeResult,
} from '../services/notify-expiring.ts';
import type { Db } from '../store/database.ts';
import {
  buildNoticeMessage,
  ITEMS_PER_MESSAGE,
  type NoticeItem,
  sortNoticeItems,
} from './messages/build-notice-message.ts';
import { describeSlackError, type SlackPoster } from './slack-poster.ts';

export interface NoticeJobDeps {
  db: Db;
  clock: Clock;
  poster: SlackPoster;
  /** REKEY_REMINDERS, in ms. */
  offsets: readonly number[];
  logger: Logger;
  metrics?: Metrics;
  /** Unique per process; recorded on claims. */
  instanceId: string;
  /** Claims older than this are presumed abandoned. Longer than any batch takes to send. */
  leaseMs?: number;
  /** Due secrets per claim transaction. */
  batchSize?: number;
  /** Pause between two messages to one channel (Slack allows about one per second). */
  channelIntervalMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

export interface TickReport {
  batches: number;
  scanned: number;
  claimed: number;
  sent: number;
  failed: number;
  superseded: number;
  retired: number;
  messages: number;
}

const DEFAULT_LEASE_MS = 10 * 60_000;
const DEFAULT_BATCH = 500;

const sleeper = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * One scheduler tick (DESIGN §6): claim what is due in batches, send it grouped per recipient, record
 * the outcome. A failure never loses a notice: it stays claimable for the next tick.
 */
export async function runNoticeTick(deps: NoticeJobDeps): Promise<TickReport> {
  const now = deps.clock.now();
  const batchSize = deps.batchSize ?? DEFAULT_BATCH;
  const report: TickReport = {
    batches: 0,
    scanned: 0,
    claimed: 0,
    sent: 0,
    failed: 0,
    superseded: 0,
    retired: 0,
    messages: 0,
  };
  const lastPostAt = new Map<string, number>();
  for (;;) {
    const batch = await claimDueNotices(
      { db: deps.db },
      {
        now,
        offsets: deps.offsets,
        instanceId: deps.instanceId,
        leaseMs: deps.leaseMs ?? DEFAULT_LEASE_MS,
        limit: batchSize,
      },
    );
    report.batches += 1;
    report.scanned += batch.scanned;
    report.claimed += batch.claimed.length;
    report.superseded += batch.superseded.length;
    report.retired += batch.retired;
    for (const kind of batch.superseded) deps.metrics?.notifications.inc({ kind, result: 'skipped' });
    for (const n of batch.claimed) {
      if (n.attempt > 1) deps.metrics?.notifications.inc({ kind: n.kind, result: 'retried' });
    }
    if (batch.claimed.length > 0) {
      const results = await deliver(deps, batch.claimed, now, lastPostAt, report);
      const done = await completeNotices(
        { db: deps.db },
        { results, instanceId: deps.instanceId, now: deps.clock.now() },
      );
      report.sent += done.sent.length;
      report.failed += done.failed.length;
      for (const n of done.sent) deps.metrics?.notifications.inc({ kind: n.kind, result: 'sent' });
      for (const n of done.failed) {
        deps.metrics?.notifications.inc({ kind: n.kind, result: 'failed' });
      }
    }
    // A short batch means nothing else is due; anything left for later is parked in the future.
    if (batch.scanned < batchSize) break;
  }
  if (report.claimed > 0 || report.retired > 0 || report.superseded > 0) {
    deps.logger.info({ tick: report }, 'scheduler tick');
  }
  return report;
}

function toItem(notice: ClaimedNotice): NoticeItem {
  return {
    kind: notice.kind === EXPIRED_KIND ? 'expired' : 'reminder',
    keyName: notice.keyName,
    oldDisplay: notice.oldDisplay,
    expiresAt: notice.expiresAt,
  };
}

/** Groups the batch per recipient, posts one message per recipient (chunked), maps outcomes back. */
async function deliver(
  deps: NoticeJobDeps,
  claimed: ClaimedNotice[],
  now: Date,
  lastPostAt: Map<string, number>,
  report: TickReport,
): Promise<NoticeResult[]> {
  const byRecipient = new Map<string, { as: 'channel' | 'dm'; notices: ClaimedNotice[] }>();
  for (const notice of claimed) {
    for (const r of notice.pending) {
      const entry = byRecipient.get(r.to) ?? { as: r.as, notices: [] };
      entry.notices.push(notice);
      byRecipient.set(r.to, entry);
    }
  }
  const reached = new Map<string, string[]>(claimed.map((n) => [n.id, []]));
  const errors = new Map<string, string>();
  const interval = deps.channelIntervalMs ?? 1000;
  const sleep = deps.sleep ?? sleeper;

  for (const [to, { as, notices }] of byRecipient) {
    const ordered = sortNoticeItems(notices);
    for (let i = 0; i < ordered.length; i += ITEMS_PER_MESSAGE) {
      const covered = ordered.slice(i, i + ITEMS_PER_MESSAGE);
      const message = buildNoticeMessage(covered.map(toItem), { audience: as, now });
      const wait = (lastPostAt.get(to) ?? Number.NEGATIVE_INFINITY) + interval - Date.now();
      if (wait > 0) await sleep(wait);
      try {
        await deps.poster.chat.postMessage({ channel: to, text: message.text, blocks: message.blocks });
        report.messages += 1;
        for (const n of covered) reached.get(n.id)!.push(to);
      } catch (error) {
        const reason = describeSlackError(error);
        deps.logger.warn(
          { recipient: to, notices: covered.length, reason },
          'scheduler could not post; retrying next tick',
        );
        for (const n of covered) errors.set(n.id, `${to}: ${reason}`);
      } finally {
        lastPostAt.set(to, Date.now());
      }
    }
  }
  return claimed.map((notice) => ({
    notice,
    reached: reached.get(notice.id) ?? [],
    error: errors.get(notice.id) ?? null,
  }));
}
