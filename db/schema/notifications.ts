import { sql } from 'drizzle-orm';
import { integer, pgTable, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { at, id } from './columns.ts';
import { secrets } from './secrets.ts';

/**
 * One row per (secret, kind) the scheduler owes people: the unique index is what makes a reminder or
 * an expiry alert go out exactly once across ticks, restarts and replicas.
 */
export const notifications = pgTable(
  'notifications',
  {
    id: id(),
    secretId: uuid('secret_id')
      .notNull()
      .references(() => secrets.id),
    /** `reminder:<offset>` or `expired`. */
    kind: text('kind').notNull(),
    status: text('status').$type<'claimed' | 'sent' | 'skipped'>().notNull(),
    attempts: integer('attempts').notNull().default(0),
    claimedAt: at('claimed_at'),
    claimedBy: text('claimed_by'),
    sentAt: at('sent_at'),
    lastError: text('last_error'),
    /**
     * Recipients (channel ids, user ids for DMs) that already have this notification. One message can
     * reach the channel and fail for the DM; the retry then goes only where it is still missing, so
     * nobody gets it twice. `status` becomes 'sent' when every recipient has it.
     */
    deliveredTo: text('delivered_to').array().notNull().default(sql`'{}'::text[]`),
    createdAt: at('created_at').notNull(),
  },
  (t) => [uniqueIndex('notifications_secret_kind_uq').on(t.secretId, t.kind)],
);

export type NotificationRow = typeof notifications.$inferSelect;
