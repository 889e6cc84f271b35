import { sql } from 'drizzle-orm';
import { date, index, integer, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { at, id } from './columns.ts';
import { instances } from './instances.ts';

/**
 * The weekly digest of keys due for rotation, one row per alert channel and week: the unique index is
 * what makes it go out once per channel per week across replicas and restarts. Written when the digest
 * is owed (status `claimed`: not yet sent), then claimed by a live instance like a notification
 * (`claimed_by`), sent and marked `sent`; a failed post is released and retried.
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
    /** The live instance sending it now (see `notifications.claimed_by`); null when nobody is. */
    claimedBy: text('claimed_by').references(() => instances.id, { onDelete: 'set null' }),
    /** After a failed post: not tried again before this. */
    retryAt: at('retry_at'),
    sentAt: at('sent_at'),
    lastError: text('last_error'),
    createdAt: at('created_at').notNull(),
  },
  (t) => [
    uniqueIndex('policy_digests_channel_week_uq').on(t.channel, t.week),
    // The digests owed and free to claim: what a tick asks for, one index probe when there are none.
    index('policy_digests_owed_idx')
      .on(t.week)
      .where(sql`${t.status} = 'claimed' and ${t.claimedBy} is null`),
    // Only claims in hand: what deleting an instance (ON DELETE SET NULL) has to find.
    index('policy_digests_claimed_by_idx').on(t.claimedBy).where(sql`${t.claimedBy} is not null`),
  ],
);

export type PolicyDigestRow = typeof policyDigests.$inferSelect;
