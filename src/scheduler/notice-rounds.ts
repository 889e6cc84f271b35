import type { KnownBlock } from '@slack/types';
import type { Clock } from '../clock.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import type { Db } from '../store/database.ts';
import { type ClaimHolder, oneOffHolder } from './instance-liveness.ts';
import { checkNoticeTiming, type NoticeTiming } from './notice-timing.ts';
import { noticeErrorText, type SlackPoster } from './slack-poster.ts';

/**
 * The claim → send → record engine every notice goes through (docs/architecture.md#notices-exactly-once):
 * grace-period notices and the used-after-expiry alert (notice-job.ts), rotation-policy notices
 * (policy-notice-job.ts), the weekly digest (policy-digest-job.ts), and any source registered in
 * index.ts. A source says what is due, how to claim it, how it reads and how to record it; this file
 * owns batching, grouping per recipient, pacing, rate limits, claims belonging to a live instance,
 * and stopping.
 */

export interface Recipient {
  to: string;
  as: 'channel' | 'dm';
}

/** A notice this instance has claimed (its unique row is ours) and must deliver, then record. */
export interface ClaimedForDelivery {
  id: string;
  kind: string;
  attempt: number;
  /** Who still needs it (those reached by an earlier, partly failed attempt are left out). */
  pending: Recipient[];
}

export interface DeliveryResult<N> {
  notice: N;
  /** Recipients reached in this attempt. */
  reached: string[];
  error: string | null;
  /**
   * Nothing failed, but not every recipient was tried: the scheduler is stopping, or this instance
   * could not be sure it still held the claim. The source releases it unsent, due again at once
   * (not a failure: no backoff).
   */
  givenBack: boolean;
}

export interface ClaimedBatch<N> {
  claimed: N[];
  /** Rows looked at (a full batch means more may be waiting). */
  scanned: number;
  /** Kinds of the notices recorded as never to be sent (a later one supersedes them). */
  superseded?: string[];
  /** Subjects that need no more looks. */
  retired?: number;
}

export interface RoundMessages<N> {
  /** One message for one recipient, about up to `perMessage` notices. Pure; never a key string. */
  compose(notices: N[], audience: 'channel' | 'dm'): { text: string; blocks: KnownBlock[] };
  /**
   * Claims found no longer worth sending when the round was about to go out (already recorded as
   * skipped by the source): they are neither sent nor recorded again.
   */
  cancelled?: ReadonlySet<string>;
}

/**
 * What kind of notices a tick sends, and how they are claimed, written and recorded. A claim names
 * this instance (`claimed_by`, a foreign key to `instances` with ON DELETE SET NULL) and is free again
 * when `claimed_by` is null: that is all it takes for a dead instance's claims to be taken over.
 */
export interface NoticeSource<N extends ClaimedForDelivery> {
  /** The idle tick's one cheap statement: is anything due at all? */
  anyDue(now: Date): Promise<boolean>;
  /** One transaction: lock up to `limit` due rows (SKIP LOCKED), plan them, claim what is owed now. */
  claim(now: Date, limit: number): Promise<ClaimedBatch<N>>;
  /** Reads what the round's messages need (once per round) and returns how to write them. */
  prepare(round: N[], now: Date): Promise<RoundMessages<N>>;
  /** The order notices are listed in within a recipient's messages. */
  order(notices: N[]): N[];
  perMessage: number;
  /**
   * Remembers at once, right after a post succeeded, that `recipient` has these notices, so a crash
   * before `complete` resends only to the others. Needed only by notices with several recipients.
   */
  recordReached?(ids: string[], recipient: string): Promise<void>;
  /**
   * Records the outcome and lets go of the claims (only those still ours); returns what it recorded as
   * sent, failed (retried after a backoff) or given back (due again at once).
   */
  complete(results: DeliveryResult<N>[], now: Date): Promise<{ sent: N[]; failed: N[]; givenBack: N[] }>;
}

export interface RoundsDeps {
  db: Db;
  clock: Clock;
  poster: SlackPoster;
  logger: Logger;
  metrics?: Metrics;
  /** Unique per process; recorded on claims (a row of `instances`). */
  instanceId: string;
  /**
   * The live instance the claims belong to (the scheduler's InstanceLiveness). Without one — a one-off
   * run — claims still name `instanceId`, whose row is made sure of before each claim.
   */
  holder?: ClaimHolder;
  /**
   * The bounds of one post (notice-timing.ts); NOTICE_TIMING by default. The timeout and retries must
   * be the poster's own (createNoticeClient with the same timing).
   */
  timing?: Partial<NoticeTiming>;
  /** Aborted when the scheduler stops: no new post starts, waits end, unsent notices are given back. */
  signal?: AbortSignal;
  /** Due rows per claim transaction. */
  batchSize?: number;
  /** Claims gathered before sending: notices due together are grouped across this many. */
  roundSize?: number;
  /**
   * Slack posts in flight at once (to different recipients); 1 by default, so a crash can leave at
   * most one message posted but not recorded (which whoever takes the claim over sends again).
   */
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

/** A message that was never posted (the round was cut short): its notices are given back, not failed. */
class Untried extends Error {}

/** Retry-After of a 429 the notice client handed back, in ms; undefined for any other failure. */
function rateLimitedFor(error: unknown): number | undefined {
  const e = error as { code?: unknown; retryAfter?: unknown } | undefined;
  if (e?.code !== 'slack_webapi_rate_limited_error' || typeof e.retryAfter !== 'number') return undefined;
  return Math.max(0, e.retryAfter * 1000);
}

/**
 * One tick of one source: claim what is due in batches, send it grouped per recipient, record the
 * outcome. A failure never loses a notice: it stays claimable for the next tick, or is given back.
 */
export async function runNoticeRounds<N extends ClaimedForDelivery>(
  deps: RoundsDeps,
  source: NoticeSource<N>,
): Promise<TickReport> {
  const timing = checkNoticeTiming(deps.timing);
  const holder = deps.holder ?? oneOffHolder(deps);
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
  if (!(await source.anyDue(now))) return report;
  const roundSize = Math.max(deps.roundSize ?? DEFAULT_ROUND, batchSize);
  for (let exhausted = false; !exhausted && !deps.signal?.aborted; ) {
    // Claims name a live instance: be one (and know which of its lives) before claiming.
    const generation = await holder.confirm();
    // Claim several batches before sending, so notices due together share one message per recipient.
    const round: N[] = [];
    while (round.length < roundSize) {
      const batch = await source.claim(now, batchSize);
      report.batches += 1;
      report.scanned += batch.scanned;
      report.claimed += batch.claimed.length;
      report.superseded += batch.superseded?.length ?? 0;
      report.retired += batch.retired ?? 0;
      for (const kind of batch.superseded ?? []) deps.metrics?.notifications.inc({ kind, result: 'skipped' });
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
    let results: DeliveryResult<N>[];
    try {
      const messages = await source.prepare(round, now);
      const live = messages.cancelled ? round.filter((n) => !messages.cancelled!.has(n.id)) : round;
      report.superseded += round.length - live.length;
      results = await deliver(deps, source, live, report, timing, messages, () => holder.mayPost(generation));
    } catch (error) {
      throw forfeited(holder, error);
    }
    for (let i = 0; i < results.length; i += batchSize) {
      let done: Awaited<ReturnType<NoticeSource<N>['complete']>>;
      try {
        done = await source.complete(results.slice(i, i + batchSize), deps.clock.now());
      } catch (error) {
        throw forfeited(holder, error);
      }
      report.sent += done.sent.length;
      report.failed += done.failed.length;
      for (const n of done.sent) deps.metrics?.notifications.inc({ kind: n.kind, result: 'sent' });
      for (const n of done.failed) deps.metrics?.notifications.inc({ kind: n.kind, result: 'failed' });
    }
  }
  return report;
}

/**
 * A round failed between claiming and recording: this live instance can no longer account for its
 * claims, and would hold them for as long as it lives. It gives every claim back instead (the others
 * resend only to whom was not recorded as reached). Returns the error to rethrow.
 */
function forfeited(holder: ClaimHolder, error: unknown): unknown {
  holder.forfeit();
  return error;
}

/**
 * Groups notices per recipient and posts them, one message per up to `perMessage` notices. First
 * messages of every recipient go out before anyone's second, and a recipient's next message waits for
 * `channelIntervalMs`, so one busy channel never holds up the others. A post starts only while
 * `mayPost()` says the claims are still surely ours.
 */
async function deliver<N extends ClaimedForDelivery>(
  deps: RoundsDeps,
  source: NoticeSource<N>,
  claimed: N[],
  report: TickReport,
  timing: NoticeTiming,
  messages: RoundMessages<N>,
  mayPost: () => boolean,
): Promise<DeliveryResult<N>[]> {
  const byRecipient = new Map<string, { as: 'channel' | 'dm'; notices: N[] }>();
  for (const notice of claimed) {
    for (const r of notice.pending) {
      const entry = byRecipient.get(r.to) ?? { as: r.as, notices: [] };
      entry.notices.push(notice);
      byRecipient.set(r.to, entry);
    }
  }
  type Item = { to: string; as: 'channel' | 'dm'; notices: N[]; round: number };
  const queue: Item[] = [];
  for (const [to, { as, notices }] of byRecipient) {
    const ordered = source.order(notices);
    for (let i = 0; i < ordered.length; i += source.perMessage) {
      queue.push({ to, as, notices: ordered.slice(i, i + source.perMessage), round: i });
    }
  }
  queue.sort((a, b) => a.round - b.round);

  const reached = new Map<string, string[]>(claimed.map((n) => [n.id, []]));
  const errors = new Map<string, string>();
  /** Notices with a recipient never tried: given back unless a post of theirs failed. */
  const untried = new Map<string, string>();
  const interval = deps.channelIntervalMs ?? 1000;
  const lastPostAt = new Map<string, number>();
  const busy = new Set<string>();

  const { signal } = deps;
  const sleep = (ms: number) => (deps.sleep ? deps.sleep(ms) : sleeper(ms, signal));
  // A 429 from Slack pauses every post of this round until its Retry-After has passed.
  let pausedUntil = 0;
  const stopping = 'not sent: the scheduler is stopping; another instance sends it';
  const notOurs = 'not sent: this instance could not be sure it still held the claim; another sends it';

  const post = async (item: Item, notices: N[]) => {
    const message = messages.compose(notices, item.as);
    for (let rateLimited = false; ; ) {
      try {
        await deps.poster.chat.postMessage({ channel: item.to, text: message.text, blocks: message.blocks });
        return;
      } catch (error) {
        const retryAfter = rateLimitedFor(error);
        // One wait and one more call: a post stays within its budget (notice-timing.ts).
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
        // Stopping, or the wait outlasted this instance's certainty that the claims are its own: the
        // message was never posted, so it goes back to the others rather than counting as a failure.
        if (signal?.aborted) throw new Untried(stopping);
        if (!mayPost()) throw new Untried(notOurs);
      }
    }
  };

  const send = async (item: Item) => {
    const wait = Math.max(
      (lastPostAt.get(item.to) ?? Number.NEGATIVE_INFINITY) + interval - Date.now(),
      pausedUntil - Date.now(),
    );
    if (wait > 0) await sleep(wait);
    if (signal?.aborted || !mayPost()) {
      const reason = signal?.aborted ? stopping : notOurs;
      for (const n of item.notices) untried.set(n.id, `${item.to}: ${reason}`);
      return;
    }
    try {
      await post(item, item.notices);
      report.messages += 1;
      for (const n of item.notices) reached.get(n.id)!.push(item.to);
      if (source.recordReached) {
        try {
          await source.recordReached(
            item.notices.map((n) => n.id),
            item.to,
          );
        } catch (error) {
          deps.logger.warn(
            { err: error, recipient: item.to },
            'could not record a delivered notice right away; it is recorded at the end of the tick',
          );
        }
      }
    } catch (error) {
      if (error instanceof Untried) {
        for (const n of item.notices) untried.set(n.id, `${item.to}: ${error.message}`);
        return;
      }
      const reason = noticeErrorText(error);
      deps.logger.warn(
        { recipient: item.to, notices: item.notices.length, reason },
        'scheduler could not post; it will try again (next tick at first, then backing off up to an hour)',
      );
      for (const n of item.notices) errors.set(n.id, `${item.to}: ${reason}`);
    } finally {
      lastPostAt.set(item.to, Date.now());
    }
  };
  // A few posts in flight at once (one by default), never two to the same recipient.
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
  await Promise.all(Array.from({ length: deps.concurrency ?? 1 }, worker));
  for (const item of queue) {
    for (const n of item.notices) untried.set(n.id, `${item.to}: ${stopping}`);
  }

  return claimed.map((notice) => {
    const error = errors.get(notice.id) ?? null;
    return {
      notice,
      reached: reached.get(notice.id) ?? [],
      error: error ?? untried.get(notice.id) ?? null,
      givenBack: error === null && untried.has(notice.id),
    };
  });
}
