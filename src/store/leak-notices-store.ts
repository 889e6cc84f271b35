import { and, desc, eq, isNotNull, ne, sql } from 'drizzle-orm';
import {
  auditEvents,
  keys,
  type LeakNoticeRow,
  type LeakReportRow,
  leakNotices,
  leakReports,
  secrets,
} from '../../db/schema/index.ts';
import { type DbOrTx, rowsOf } from './database.ts';

/** Timestamps go to raw SQL as ISO text with a cast: drizzle's postgres.js setup refuses raw Date params. */
const ts = (at: Date) => sql`${at.toISOString()}::timestamptz`;

export type NewLeakNotice = typeof leakNotices.$inferInsert;

/** The reply in a message's thread: once per report, whoever records it (unique on the report). */
export async function insertThreadNotice(tx: DbOrTx, values: NewLeakNotice): Promise<void> {
  await tx.insert(leakNotices).values(values).onConflictDoNothing();
}

/**
 * Sums a report into the notice still open (not yet claimed) for this secret and recipient; false when
 * there is none. Reporters are kept distinct and at most 10 (the message names a few, counts the rest).
 */
export async function addReportToOpenNotice(
  tx: DbOrTx,
  input: { secretId: string; recipient: string; reportId: string; reporter: string },
): Promise<boolean> {
  const rows = await tx
    .update(leakNotices)
    .set({
      reports: sql`${leakNotices.reports} + 1`,
      latestReportId: input.reportId,
      reporters: sql`case when ${input.reporter}::text = any(${leakNotices.reporters}) or cardinality(${leakNotices.reporters}) >= 10 then ${leakNotices.reporters} else array_append(${leakNotices.reporters}, ${input.reporter}::text) end`,
    })
    .where(
      and(
        eq(leakNotices.secretId, input.secretId),
        eq(leakNotices.recipient, input.recipient),
        ne(leakNotices.kind, 'thread'),
        eq(leakNotices.status, 'open'),
      ),
    )
    .returning({ id: leakNotices.id });
  return rows.length > 0;
}

/** The latest notice this recipient got (or is getting) about this secret: when the next may be due. */
export async function findLastNotice(
  tx: DbOrTx,
  secretId: string,
  recipient: string,
): Promise<Pick<LeakNoticeRow, 'dueAt' | 'sentAt' | 'round'> | undefined> {
  const [row] = await tx
    .select({ dueAt: leakNotices.dueAt, sentAt: leakNotices.sentAt, round: leakNotices.round })
    .from(leakNotices)
    .where(
      and(
        eq(leakNotices.secretId, secretId),
        eq(leakNotices.recipient, recipient),
        ne(leakNotices.kind, 'thread'),
      ),
    )
    .orderBy(desc(leakNotices.dueAt))
    .limit(1);
  return row;
}

export async function insertLeakNotice(tx: DbOrTx, values: NewLeakNotice): Promise<void> {
  await tx.insert(leakNotices).values(values);
}

/** The sweep's one cheap statement: is any leak notice owed by `now`? (`leak_notices_due_idx`) */
export async function hasDueLeakNotices(db: DbOrTx, now: Date): Promise<boolean> {
  const rows = await db
    .select({ one: sql`1` })
    .from(leakNotices)
    .where(and(ne(leakNotices.status, 'sent'), sql`${leakNotices.dueAt} <= ${ts(now)}`))
    .limit(1);
  return rows.length > 0;
}

/**
 * Claims one notice owed by `now` for the live instance `by`: an open one, or one nobody holds (released
 * after a failed post, or let go of by an instance that stopped or died: `claimed_by` null).
 * `FOR UPDATE SKIP LOCKED`, so replicas sweeping together take different rows and a report summing into
 * a row right now is never waited for. One statement; `by` must be a row of `instances`.
 */
export async function claimLeakNotice(
  db: DbOrTx,
  claim: { now: Date; by: string },
): Promise<LeakNoticeRow | undefined> {
  const result = await db.execute(sql`
    update leak_notices n
       set status = 'claimed', claimed_by = ${claim.by}, claimed_at = ${ts(claim.now)},
           attempts = n.attempts + 1
     where n.id = (
       select c.id from leak_notices c
        where c.status <> 'sent' and c.due_at <= ${ts(claim.now)}
          and (c.status = 'open' or c.claimed_by is null)
        order by c.due_at
        limit 1
        for update skip locked)
    returning n.id`);
  const [row] = rowsOf<{ id: string }>(result);
  if (!row) return undefined;
  const [notice] = await db.select().from(leakNotices).where(eq(leakNotices.id, row.id));
  return notice;
}

/** Sent: only while this instance still holds the claim. Returns whether it did. */
export async function markLeakNoticeSent(db: DbOrTx, id: string, by: string, now: Date): Promise<boolean> {
  const rows = await db
    .update(leakNotices)
    .set({ status: 'sent', sentAt: now, lastError: null, claimedBy: null })
    .where(and(eq(leakNotices.id, id), eq(leakNotices.status, 'claimed'), eq(leakNotices.claimedBy, by)))
    .returning({ id: leakNotices.id });
  return rows.length > 0;
}

/** A failed post: the claim is given back, the notice due again at `retryAt`. */
export async function releaseLeakNotice(
  db: DbOrTx,
  id: string,
  by: string,
  outcome: { retryAt: Date; error: string },
): Promise<void> {
  await db
    .update(leakNotices)
    .set({ claimedBy: null, claimedAt: null, dueAt: outcome.retryAt, lastError: outcome.error })
    .where(and(eq(leakNotices.id, id), eq(leakNotices.status, 'claimed'), eq(leakNotices.claimedBy, by)));
}

/** Not sent, not failed (a stopping process, a claim it could not be sure of): owed again at once. */
export async function giveBackLeakNotice(db: DbOrTx, id: string, by: string): Promise<void> {
  await db
    .update(leakNotices)
    .set({ claimedBy: null })
    .where(and(eq(leakNotices.id, id), eq(leakNotices.status, 'claimed'), eq(leakNotices.claimedBy, by)));
}

/** What a notice's message is made from: its reports, the secret and the key (never a key string). */
export async function findLeakNoticeContext(db: DbOrTx, notice: LeakNoticeRow) {
  const reportIds = [notice.reportId, notice.latestReportId];
  const reports = await db
    .select()
    .from(leakReports)
    .where(
      sql`${leakReports.id} in (${sql.join(
        reportIds.map((id) => sql`${id}::uuid`),
        sql`, `,
      )})`,
    );
  const [row] = await db
    .select({ secret: secrets, key: keys })
    .from(secrets)
    .innerJoin(keys, eq(keys.id, secrets.keyId))
    .where(eq(secrets.id, notice.secretId));
  const [acted] = await db
    .select()
    .from(leakReports)
    .where(and(eq(leakReports.secretId, notice.secretId), isNotNull(leakReports.action)))
    .limit(1);
  const [hidden] = acted
    ? await db
        .select({ secretId: auditEvents.newSecretId })
        .from(auditEvents)
        .where(eq(auditEvents.requestId, `leak:${acted.id}`))
        .limit(1)
    : [];
  const byId = new Map<string, LeakReportRow>(reports.map((r) => [r.id, r]));
  return {
    first: byId.get(notice.reportId)!,
    latest: byId.get(notice.latestReportId)!,
    secret: row!.secret,
    key: row!.key,
    acted,
    hiddenSecretId: hidden?.secretId ?? null,
  };
}
