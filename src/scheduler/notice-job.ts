import type { Clock } from '../clock.ts';
import type { UseSummary } from '../keys/usage.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import { EXPIRED_KIND, USED_AFTER_EXPIRY_KIND } from '../services/notice-plan.ts';
import {
  anyNoticeDue,
  type ClaimedNotice,
  claimDueNotices,
  completeNotices,
  type NoticeResult,
  recordRecipientReached,
} from '../services/notify-expiring.ts';
import { useSummaries } from '../services/use-summaries.ts';
import {
  buildNoticeMessage,
  ITEMS_PER_MESSAGE,
  type NoticeItem,
  sortNoticeItems,
} from '../slack/blocks/notice-message.ts';
import type { Db } from '../store/database.ts';
import { checkNoticeTiming, type NoticeTiming } from './notice-timing.ts';
import { RoundLease } from './round-lease.ts';
import { noticeErrorText, type SlackPoster } from './slack-poster.ts';

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
  /**
   * Lease, renewal and the bounds of one post (notice-timing.ts); NOTICE_TIMING by default. The
   * timeout and retries must be the poster's own (createNoticeClient with the same timing).
   */
  timing?: Partial<NoticeTiming>;
  /** Aborted when the scheduler stops: no new post starts, waits end, unsent notices are given back. */
  signal?: AbortSignal;
  /** Due secrets per claim transaction. */
  batchSize?: number;
  /** Claims gathered before sending: keys due together are grouped across this many. */
  roundSize?: number;
  /** Slack posts in flight at once (to different recipients). */
  concurrency?: number;
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

const DEFAULT_BATCH = 500;
const DEFAULT_ROUND = 5000;

/** Resolves after `ms`, or at once when `signal` is aborted (a stopping scheduler waits for nothing). */
function sleeper(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Retry-After of a 429 the notice client handed back, in ms; undefined for any other failure. */
function rateLimitedFor(error: unknown): number | undefined {
  const e = error as { code?: unknown; retryAfter?: unknown } | undefined;
  if (e?.code !== 'slack_webapi_rate_limited_error' || typeof e.retryAfter !== 'number') return undefined;
  return Math.max(0, e.retryAfter * 1000);
}

/**
 * One scheduler tick (docs/architecture.md#notices-exactly-once): claim what is due in batches, send it
 * grouped per recipient, record the outcome. A failure never loses a notice: it stays claimable for the
 * next tick.
 */
export async function runNoticeTick(deps: NoticeJobDeps): Promise<TickReport> {
  const timing = checkNoticeTiming(deps.timing);
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
  // Most ticks have nothing to do: find that out with one indexed statement, no transaction.
  if (!(await anyNoticeDue({ db: deps.db }, now))) return report;
  const roundSize = Math.max(deps.roundSize ?? DEFAULT_ROUND, batchSize);
  for (let exhausted = false; !exhausted && !deps.signal?.aborted; ) {
    // Claim several batches before sending, so keys due together share one message per recipient.
    const round: ClaimedNotice[] = [];
    while (round.length < roundSize) {
      const batch = await claimDueNotices(
        { db: deps.db },
        {
          now,
          offsets: deps.offsets,
          instanceId: deps.instanceId,
          leaseMs: timing.leaseMs,
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
      round.push(...batch.claimed);
      // A short batch means nothing else is due; whatever is owed later is parked in the future.
      if (batch.scanned < batchSize) {
        exhausted = true;
        break;
      }
    }
    if (round.length === 0) continue;
    // Sending a round can outlast the lease (Slack slow or rate-limiting): keep the claims alive meanwhile.
    const lease = new RoundLease(deps, round, now, timing);
    let results: NoticeResult[];
    try {
      const uses = await usesOf(deps, round, now);
      results = await deliver(deps, round, now, report, lease, timing, uses);
    } finally {
      await lease.stop();
    }
    for (let i = 0; i < results.length; i += batchSize) {
      const done = await completeNotices(
        { db: deps.db },
        { results: results.slice(i, i + batchSize), instanceId: deps.instanceId, now: deps.clock.now() },
      );
      report.sent += done.sent.length;
      report.failed += done.failed.length;
      for (const n of done.sent) deps.metrics?.notifications.inc({ kind: n.kind, result: 'sent' });
      for (const n of done.failed) deps.metrics?.notifications.inc({ kind: n.kind, result: 'failed' });
    }
  }
  if (report.claimed > 0 || report.retired > 0 || report.superseded > 0) {
    deps.logger.info({ tick: report }, 'scheduler tick');
  }
  return report;
}

type Uses = Map<string, UseSummary>;

/**
 * The old keys' use, read once for the round. Without it a notice still goes out (it says when the
 * key stops, which matters more than how it is used), so a failed read is logged and sent without.
 */
async function usesOf(deps: NoticeJobDeps, round: ClaimedNotice[], now: Date): Promise<Uses> {
  try {
    return await useSummaries(
      { db: deps.db, clock: deps.clock },
      [...new Set(round.map((n) => n.secretId))],
      now,
    );
  } catch (error) {
    deps.logger.warn({ err: error }, 'could not read the old keys’ use; notices go out without it');
    return new Map();
  }
}

function toItem(notice: ClaimedNotice, uses: Uses): NoticeItem {
  return {
    kind:
      notice.kind === EXPIRED_KIND
        ? 'expired'
        : notice.kind === USED_AFTER_EXPIRY_KIND
          ? 'used_after_expiry'
          : 'reminder',
    keyName: notice.keyName,
    oldDisplay: notice.oldDisplay,
    expiresAt: notice.expiresAt,
    use: uses.get(notice.secretId),
    ids: { keyId: notice.keyId, currentSecretId: notice.currentSecretId, oldSecretId: notice.secretId },
    afterExpiry: notice.afterExpiry ?? undefined,
  };
}

/**
 * Groups notices per recipient and posts them, one message per up to `ITEMS_PER_MESSAGE` keys. First
 * messages of every recipient go out before anyone's second, and a recipient's next message waits for
 * `channelIntervalMs`, so one busy channel never holds up the others.
 */
async function deliver(
  deps: NoticeJobDeps,
  claimed: ClaimedNotice[],
  now: Date,
  report: TickReport,
  lease: RoundLease,
  timing: NoticeTiming,
  uses: Uses,
): Promise<NoticeResult[]> {
  const byRecipient = new Map<string, { as: 'channel' | 'dm'; notices: ClaimedNotice[] }>();
  for (const notice of claimed) {
    for (const r of notice.pending) {
      const entry = byRecipient.get(r.to) ?? { as: r.as, notices: [] };
      entry.notices.push(notice);
      byRecipient.set(r.to, entry);
    }
  }
  const queue: Array<{ to: string; as: 'channel' | 'dm'; notices: ClaimedNotice[]; round: number }> = [];
  for (const [to, { as, notices }] of byRecipient) {
    const ordered = sortNoticeItems(notices);
    for (let i = 0; i < ordered.length; i += ITEMS_PER_MESSAGE) {
      queue.push({ to, as, notices: ordered.slice(i, i + ITEMS_PER_MESSAGE), round: i });
    }
  }
  queue.sort((a, b) => a.round - b.round);

  const reached = new Map<string, string[]>(claimed.map((n) => [n.id, []]));
  const errors = new Map<string, string>();
  const interval = deps.channelIntervalMs ?? 1000;
  const lastPostAt = new Map<string, number>();
  const busy = new Set<string>();

  const { signal } = deps;
  const sleep = (ms: number) => (deps.sleep ? deps.sleep(ms) : sleeper(ms, signal));
  // A 429 from Slack pauses every post of this round until its Retry-After has passed.
  let pausedUntil = 0;
  const stopping = 'not sent: the scheduler is stopping; the next tick sends it';

  const post = async (item: (typeof queue)[number], notices: ClaimedNotice[]) => {
    const message = buildNoticeMessage(
      notices.map((n) => toItem(n, uses)),
      { audience: item.as, now },
    );
    for (let rateLimited = false; ; ) {
      try {
        await deps.poster.chat.postMessage({ channel: item.to, text: message.text, blocks: message.blocks });
        return;
      } catch (error) {
        const retryAfter = rateLimitedFor(error);
        // One wait and one more call: that is what the post budget allows for, so the post still ends
        // before its lease does.
        if (
          retryAfter === undefined ||
          rateLimited ||
          retryAfter > timing.rateLimitWaitMs ||
          signal?.aborted
        ) {
          throw error;
        }
        rateLimited = true;
        pausedUntil = Math.max(pausedUntil, Date.now() + retryAfter);
        deps.logger.info(
          { recipient: item.to, retryAfterMs: retryAfter },
          'Slack is rate-limiting notices; waiting',
        );
        await sleep(retryAfter);
        if (signal?.aborted) throw error;
      }
    }
  };

  const send = async (item: (typeof queue)[number]) => {
    const wait = Math.max(
      (lastPostAt.get(item.to) ?? Number.NEGATIVE_INFINITY) + interval - Date.now(),
      pausedUntil - Date.now(),
    );
    if (wait > 0) await sleep(wait);
    if (signal?.aborted) {
      for (const n of item.notices) errors.set(n.id, `${item.to}: ${stopping}`);
      return;
    }
    // Only notices whose claim outlasts the longest this post can take: past that, another replica
    // may already be sending them.
    const usable = lease.usable(item.notices.map((n) => n.id));
    const notices = item.notices.filter((n) => usable.has(n.id));
    for (const n of item.notices) {
      if (!usable.has(n.id))
        errors.set(n.id, `${item.to}: not sent: its claim could not be kept; the next tick sends it`);
    }
    if (notices.length === 0) return;
    try {
      await post(item, notices);
      report.messages += 1;
      for (const n of notices) reached.get(n.id)!.push(item.to);
      try {
        await recordRecipientReached(
          { db: deps.db },
          { ids: notices.map((n) => n.id), recipient: item.to, instanceId: deps.instanceId },
        );
      } catch (error) {
        deps.logger.warn(
          { err: error, recipient: item.to },
          'could not record a delivered notice right away; it is recorded at the end of the tick',
        );
      }
    } catch (error) {
      const reason = noticeErrorText(error);
      deps.logger.warn(
        { recipient: item.to, notices: notices.length, reason },
        'scheduler could not post; it will try again (next tick at first, then backing off up to an hour)',
      );
      for (const n of notices) errors.set(n.id, `${item.to}: ${reason}`);
    } finally {
      lastPostAt.set(item.to, Date.now());
    }
  };
  // A few posts in flight at once, never two to the same recipient.
  const worker = async () => {
    while (!signal?.aborted) {
      const index = queue.findIndex((q) => !busy.has(q.to));
      if (index < 0) {
        if (queue.length === 0) return;
        await sleep(10);
        continue;
      }
      const [item] = queue.splice(index, 1);
      busy.add(item!.to);
      try {
        await send(item!);
      } finally {
        busy.delete(item!.to);
      }
    }
  };
  await Promise.all(Array.from({ length: deps.concurrency ?? 4 }, worker));
  for (const item of queue) {
    for (const n of item.notices) errors.set(n.id, `${item.to}: ${stopping}`);
  }

  return claimed.map((notice) => ({
    notice,
    reached: reached.get(notice.id) ?? [],
    error: errors.get(notice.id) ?? null,
  }));
}
