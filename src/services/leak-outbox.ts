import type { KeyRow, LeakNoticeRow, LeakReportRow } from '../../db/schema/index.ts';
import type { Clock } from '../clock.ts';
import type { OnLeak } from '../keys/on-leak.ts';
import { type SecretState, secretState } from '../keys/rotation.ts';
import type { Db, DbOrTx } from '../store/database.ts';
import { withDatabaseErrors } from '../store/database-errors.ts';
import {
  addReportToOpenNotice,
  claimLeakNotice,
  findLastNotice,
  findLeakNoticeContext,
  giveBackLeakNotice as giveBack,
  hasDueLeakNotices,
  insertLeakNotice,
  insertThreadNotice,
  markLeakNoticeSent,
  releaseLeakNotice,
} from '../store/leak-notices-store.ts';
import { retryDelayMs } from './notice-plan.ts';
import { announceNoticeDue } from './notice-wakeups.ts';

/** The notice source (src/scheduler/index.ts) that delivers the outbox: what wakes it. */
export const LEAK_NOTICE_SOURCE = 'leak';

/** People are told about one leaked secret at most once per this long; reports meanwhile are summed. */
export const LEAK_NOTICE_INTERVAL_MS = 10 * 60_000;

/**
 * Writes what the people concerned must be told about a new report, in the report's own transaction
 * (docs/architecture.md#leak-response): the thread reply for a Slack message (every report of one,
 * working or expired), and for a working secret a DM to each maintainer and the alert channel's
 * notice. Those two are throttled per secret and recipient: a report joins the notice still open for
 * it, or opens the next one, due `LEAK_NOTICE_INTERVAL_MS` after the previous one.
 */
export async function scheduleLeakNotices(
  tx: DbOrTx,
  input: {
    report: LeakReportRow;
    key: KeyRow;
    live: boolean;
    reporter: string;
    thread?: { channel: string; ts: string };
    now: Date;
  },
): Promise<void> {
  const { report, key, now } = input;
  // Every scheduler is woken when (and only if) the report commits: the messages go out within seconds,
  // from whichever replica takes them (docs/architecture.md#notices-exactly-once).
  await announceNoticeDue(tx, LEAK_NOTICE_SOURCE);
  const base = { reportId: report.id, latestReportId: report.id, secretId: report.secretId, keyId: key.id };
  if (input.thread) {
    await insertThreadNotice(tx, {
      ...base,
      kind: 'thread',
      recipient: input.thread.channel,
      threadTs: input.thread.ts,
      reporters: [input.reporter],
      dueAt: now,
      createdAt: now,
    });
  }
  if (!input.live) return;
  for (const { to, kind } of recipientsOf(key)) {
    const joined = await addReportToOpenNotice(tx, {
      secretId: report.secretId,
      recipient: to,
      reportId: report.id,
      reporter: input.reporter,
    });
    if (joined) continue;
    const last = await findLastNotice(tx, report.secretId, to);
    const after = (at: Date | null | undefined) => (at ? at.getTime() + LEAK_NOTICE_INTERVAL_MS : 0);
    const dueAt = new Date(Math.max(now.getTime(), after(last?.dueAt), after(last?.sentAt)));
    await insertLeakNotice(tx, {
      ...base,
      kind,
      recipient: to,
      round: (last?.round ?? 0) + 1,
      reporters: [input.reporter],
      dueAt,
      createdAt: now,
    });
  }
}

/** Each maintainer in a DM and the alert channel, each once. */
function recipientsOf(key: KeyRow): Array<{ to: string; kind: 'dm' | 'channel' }> {
  const list: Array<{ to: string; kind: 'dm' | 'channel' }> = [];
  if (key.alertChannel) list.push({ to: key.alertChannel, kind: 'channel' });
  for (const user of new Set(key.maintainers))
    if (user !== key.alertChannel) list.push({ to: user, kind: 'dm' });
  return list;
}

/** What one message about a leaked secret says, for the Slack surface to write. Never a key string. */
export interface LeakNoticeToSend {
  id: string;
  kind: 'thread' | 'dm' | 'channel';
  recipient: string;
  threadTs: string | null;
  /** 1: the first time this recipient hears of the secret; later rounds sum the reports since. */
  round: number;
  /** This claim's attempt (1 for the first). */
  attempt: number;
  reports: number;
  reporters: string[];
  key: { id: string; name: string; onLeak: OnLeak };
  /** The leaked secret as it is now: `current`, in its `grace` period, or `expired`. */
  secret: { id: string; display: string; state: SecretState; expiresAt: Date | null };
  /** The report told in detail: the first (round 1) or the latest (a summary). */
  report: {
    live: boolean;
    foundBy: string;
    channel: string | null;
    messageTs: string | null;
    postedBy: string | null;
    url: string | null;
    reportedAt: Date;
  };
  /** What rekey did by itself about this secret, if anything. */
  contained: { action: 'rotated' | 'ended'; hiddenSecretId: string | null } | null;
  now: Date;
}

export interface OutboxDeps {
  db: Db;
  clock: Clock;
}

/** Is any leak notice owed now? The idle sweep's one statement. */
export function anyLeakNoticeDue(deps: OutboxDeps): Promise<boolean> {
  return withDatabaseErrors(() => hasDueLeakNotices(deps.db, deps.clock.now()));
}

/**
 * Claims the next notice owed now, for instance `by`, and reads what its message says; undefined when
 * nothing is owed. The claim is one statement, committed before anything is posted.
 */
export async function claimNextLeakNotice(
  deps: OutboxDeps,
  by: string,
): Promise<LeakNoticeToSend | undefined> {
  return withDatabaseErrors(async () => {
    const now = deps.clock.now();
    const notice = await claimLeakNotice(deps.db, { now, by });
    if (!notice) return undefined;
    return toSend(notice, await findLeakNoticeContext(deps.db, notice), now);
  });
}

function toSend(
  notice: LeakNoticeRow,
  context: Awaited<ReturnType<typeof findLeakNoticeContext>>,
  now: Date,
): LeakNoticeToSend {
  const { secret, key } = context;
  const told = notice.round > 1 ? context.latest : context.first;
  return {
    id: notice.id,
    kind: notice.kind,
    recipient: notice.recipient,
    threadTs: notice.threadTs,
    round: notice.round,
    attempt: notice.attempts,
    reports: notice.reports,
    reporters: notice.reporters,
    key: { id: key.id, name: key.name, onLeak: key.onLeak },
    secret: {
      id: secret.id,
      display: secret.display,
      state: secretState(secret.expiresAt, now),
      expiresAt: secret.expiresAt,
    },
    report: {
      live: told.live,
      foundBy: told.foundBy,
      channel: told.channel,
      messageTs: told.messageTs,
      postedBy: told.postedBy,
      url: told.url,
      reportedAt: told.reportedAt,
    },
    contained: context.acted?.action
      ? { action: context.acted.action, hiddenSecretId: context.hiddenSecretId }
      : null,
    now,
  };
}

/** Not posted (the process is stopping, or unsure it still holds the claim): owed again at once. */
export function giveBackLeakNotice(deps: OutboxDeps, id: string, by: string): Promise<void> {
  return withDatabaseErrors(() => giveBack(deps.db, id, by));
}

/** The message went out: recorded only while this instance still holds the claim. */
export function completeLeakNotice(deps: OutboxDeps, id: string, by: string): Promise<boolean> {
  return withDatabaseErrors(() => markLeakNoticeSent(deps.db, id, by, deps.clock.now()));
}

/**
 * The post failed: the claim is given back and the notice is tried again after the notices' backoff
 * (at once twice, then 1, 2, 4 … minutes up to an hour; never given up), or after Slack's Retry-After.
 */
export function releaseLeakNoticeForRetry(
  deps: OutboxDeps,
  input: { id: string; by: string; attempt: number; error: string; retryAfterMs?: number },
): Promise<void> {
  const now = deps.clock.now().getTime();
  const wait = Math.max(input.retryAfterMs ?? 0, retryDelayMs(input.attempt));
  return withDatabaseErrors(() =>
    releaseLeakNotice(deps.db, input.id, input.by, { retryAt: new Date(now + wait), error: input.error }),
  );
}
