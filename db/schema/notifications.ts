import { sql } from 'drizzle-orm';
import { check, index, integer, pgTable, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { at, id } from './columns.ts';
import { instances } from './instances.ts';
import { keys } from './keys.ts';
import { secrets } from './secrets.ts';

/**
 * One row per message the scheduler owes people: the unique indexes are what make it go out exactly once
 * across ticks, restarts and replicas. About an old secret — (secret, kind): a reminder before it stops,
 * the expiry alert — or about a key's rotation policy — (key, due date, kind): a reminder before the
 * rotation is due, the overdue notice. Keyed by the due date, so a rotation (which moves it) starts a
 * fresh set and the old date's rows are never sent again.
 */
export const notifications = pgTable(
  'notifications',
  {
    id: id(),
    /** The old secret a grace-period notice is about; null for a policy notice. */
    secretId: uuid('secret_id').references(() => secrets.id),
    /** The key a policy notice is about; null for a grace-period notice. */
    keyId: uuid('key_id').references(() => keys.id),
    /** The rotation due date a policy notice is about (its key's, when it was claimed). */
    dueAt: at('due_at'),
    /**
     * `reminder:<offset>`, `expired`, `used_after_expiry` (secrets); `policy_due:<offset>`,
     * `policy_overdue` (keys).
     */
    kind: text('kind').notNull(),
    status: text('status').$type<'claimed' | 'sent' | 'skipped'>().notNull(),
    attempts: integer('attempts').notNull().default(0),
    /**
     * When the current holder claimed it; null once released after a failed post (its subject then
     * carries the retry time). A claim whose holder is gone (`claimed_by` null) but `claimed_at` set was
     * given back unsent: trigger `notifications_released_claim_replans` makes its subject due at once.
     */
    claimedAt: at('claimed_at'),
    /**
     * The live instance sending it now, null when nobody is. Deleting the instance (it stopped, or the
     * others found it dead) sets this null: the claim is free again. Cleared when the notice is done.
     */
    claimedBy: text('claimed_by').references(() => instances.id, { onDelete: 'set null' }),
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
  (t) => [
    uniqueIndex('notifications_secret_kind_uq').on(t.secretId, t.kind),
    // Only claims in hand: what deleting an instance (ON DELETE SET NULL) has to find.
    index('notifications_claimed_by_idx').on(t.claimedBy).where(sql`${t.claimedBy} is not null`),
    // NULLs are distinct in a unique index, so each index only ever compares rows of its own sort.
    uniqueIndex('notifications_key_due_kind_uq').on(t.keyId, t.dueAt, t.kind),
    check(
      'notifications_about_a_secret_or_a_due_date',
      sql`(${t.secretId} is null) <> (${t.keyId} is null) and (${t.keyId} is null) = (${t.dueAt} is null)`,
    ),
  ],
);

export type NotificationRow = typeof notifications.$inferSelect;
