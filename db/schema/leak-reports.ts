import { sql } from 'drizzle-orm';
import { boolean, check, index, pgTable, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { at, id } from './columns.ts';
import { keys } from './keys.ts';
import { secrets } from './secrets.ts';

/**
 * One row per secret and place it was seen leaked: a Slack message (channel + message ts) or a
 * scanner's URL. The unique indexes are what make a report happen exactly once: a message edited, an
 * event Slack delivers again, a second replica or a scanner sending the same finding again all find
 * the row and report nothing. The message text and the key string are never stored.
 */
export const leakReports = pgTable(
  'leak_reports',
  {
    id: id(),
    secretId: uuid('secret_id')
      .notNull()
      .references(() => secrets.id),
    keyId: uuid('key_id')
      .notNull()
      .references(() => keys.id),
    /** `slack_message`, or `scanner:<source>` for a finding sent to POST /v1/leaks. */
    foundBy: text('found_by').notNull(),
    /** Slack: where the message was and who posted it. */
    channel: text('channel'),
    messageTs: text('message_ts'),
    postedBy: text('posted_by'),
    /** Scanner: where it found the key (a commit, a file, a gist). */
    url: text('url'),
    /** The secret still worked when it was seen; an expired one only gets a note in the thread. */
    live: boolean('live').notNull(),
    reportedAt: at('reported_at').notNull(),
    /**
     * What rekey did by itself because of this report (the key's on_leak policy): `rotated` (the leaked
     * current secret was replaced) or `ended` (the leaked old secret stopped at once); null: nothing.
     * At most one report per secret carries an action.
     */
    action: text('action').$type<'rotated' | 'ended'>(),
  },
  (t) => [
    uniqueIndex('leak_reports_message_uq')
      .on(t.secretId, t.channel, t.messageTs)
      .where(sql`${t.messageTs} is not null`),
    uniqueIndex('leak_reports_url_uq').on(t.secretId, t.url).where(sql`${t.url} is not null`),
    // Every report comes from exactly one place.
    check(
      'leak_reports_one_place',
      sql`(${t.channel} is not null and ${t.messageTs} is not null and ${t.url} is null) or (${t.channel} is null and ${t.messageTs} is null and ${t.url} is not null)`,
    ),
    // The key card's question: the latest live report of each key (is it newer than the last rotation?).
    index('leak_reports_key_idx').on(t.keyId, t.reportedAt),
    // One automatic containment per secret, whatever the number of reports, replicas or redeliveries.
    uniqueIndex('leak_reports_one_action_per_secret_uq').on(t.secretId).where(sql`${t.action} is not null`),
  ],
);

export type LeakReportRow = typeof leakReports.$inferSelect;
