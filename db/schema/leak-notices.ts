import { sql } from 'drizzle-orm';
import { check, index, integer, pgTable, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { at, id } from './columns.ts';
import { instances } from './instances.ts';
import { keys } from './keys.ts';
import { leakReports } from './leak-reports.ts';
import { secrets } from './secrets.ts';

/**
 * The leak response's outbox (docs/architecture.md#leak-response): one row per message rekey owes
 * someone about a leaked key — the reply in the thread of the Slack message (`thread`), each
 * maintainer's DM (`dm`), the alert channel's notice (`channel`). Written in the report's own
 * transaction, so a process that dies before telling anyone leaves the rows for the next sweep; claimed
 * before it is sent by a live instance (`claimed_by`, a row of `instances`: when its holder stops or dies
 * the claim is free again), so replicas send each once.
 *
 * DMs and channel notices are throttled per secret and recipient: while one is `open` (not yet claimed)
 * later reports are summed into it (`reports`, `reporters`, `latest_report_id`), and a new one is due no
 * sooner than 10 minutes after the previous one.
 */
export const leakNotices = pgTable(
  'leak_notices',
  {
    id: id(),
    /** The report that opened this notice (for `thread`: the message's report). */
    reportId: uuid('report_id')
      .notNull()
      .references(() => leakReports.id),
    /** The latest report summed into it. */
    latestReportId: uuid('latest_report_id')
      .notNull()
      .references(() => leakReports.id),
    secretId: uuid('secret_id')
      .notNull()
      .references(() => secrets.id),
    keyId: uuid('key_id')
      .notNull()
      .references(() => keys.id),
    kind: text('kind').$type<'thread' | 'dm' | 'channel'>().notNull(),
    /** A channel id (thread, channel) or a user id (dm). */
    recipient: text('recipient').notNull(),
    /** `thread`: the ts of the thread to answer in. */
    threadTs: text('thread_ts'),
    /** 1 for the first notice of this secret to this recipient, then 2, 3…: later ones are summaries. */
    round: integer('round').notNull().default(1),
    /** Reports this notice tells of. */
    reports: integer('reports').notNull().default(1),
    /** Who reported them (`<@U…>` or `scanner:<source>`), distinct, at most 10. */
    reporters: text('reporters').array().notNull().default(sql`'{}'::text[]`),
    dueAt: at('due_at').notNull(),
    /** `open`: still summing reports; `claimed`: being sent (or released after a failure); `sent`. */
    status: text('status').$type<'open' | 'claimed' | 'sent'>().notNull().default('open'),
    /** The live instance sending it now; null when nobody is (see `notifications.claimed_by`). */
    claimedBy: text('claimed_by').references(() => instances.id, { onDelete: 'set null' }),
    claimedAt: at('claimed_at'),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    sentAt: at('sent_at'),
    createdAt: at('created_at').notNull(),
  },
  (t) => [
    check('leak_notices_kind', sql`${t.kind} in ('thread', 'dm', 'channel')`),
    check('leak_notices_thread_ts', sql`(${t.kind} = 'thread') = (${t.threadTs} is not null)`),
    // A message's report gets one thread reply, whoever records it and however often.
    uniqueIndex('leak_notices_thread_uq').on(t.reportId).where(sql`${t.kind} = 'thread'`),
    // One notice still summing reports per secret and recipient: a report joins it or opens the next.
    uniqueIndex('leak_notices_open_uq')
      .on(t.secretId, t.recipient)
      .where(sql`${t.kind} <> 'thread' and ${t.status} = 'open'`),
    // The sweep's question, "what is owed by now?": a tick with nothing due reads no rows.
    index('leak_notices_due_idx').on(t.dueAt).where(sql`${t.status} <> 'sent'`),
    index('leak_notices_claimed_by_idx').on(t.claimedBy).where(sql`${t.claimedBy} is not null`),
    // "When was this recipient last told about this secret?": the next round's due time.
    index('leak_notices_secret_recipient_idx').on(t.secretId, t.recipient, t.dueAt),
  ],
);

export type LeakNoticeRow = typeof leakNotices.$inferSelect;
