import { date, integer, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { at, id } from './columns.ts';

/**
 * The weekly digest of keys due for rotation, one row per alert channel and week: the unique index is
 * what makes it go out once per channel per week across replicas and restarts. Claimed like a
 * notification (a lease, then `sent`); a failed post is released and retried.
 */
export const policyDigests = pgTable(
  'policy_digests',
  {
    id: id(),
    channel: text('channel').notNull(),
    /** The Monday (UTC) that starts the digest's week. */
    week: date('week', { mode: 'string' }).notNull(),
    status: text('status').$type<'claimed' | 'sent'>().notNull(),
    attempts: integer('attempts').notNull().default(1),
    claimedAt: at('claimed_at'),
    claimedBy: text('claimed_by'),
    /** After a failed post: not tried again before this. */
    retryAt: at('retry_at'),
    sentAt: at('sent_at'),
    lastError: text('last_error'),
    createdAt: at('created_at').notNull(),
  },
  (t) => [uniqueIndex('policy_digests_channel_week_uq').on(t.channel, t.week)],
);

export type PolicyDigestRow = typeof policyDigests.$inferSelect;
