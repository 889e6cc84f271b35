import { bigint, index, pgTable, primaryKey, uuid } from 'drizzle-orm/pg-core';
import { at } from './columns.ts';
import { secrets } from './secrets.ts';

/**
 * How often each secret was presented, per clock hour (UTC), written additively by every replica's
 * usage flush: N replicas on one database add up to exact totals. Rows older than 30 days are dropped
 * by the scheduler; `secret_last_use` keeps the last presentation beyond that.
 */
export const secretUseHours = pgTable(
  'secret_use_hours',
  {
    secretId: uuid('secret_id')
      .notNull()
      .references(() => secrets.id),
    /** Start of the clock hour (UTC) the presentations fell in. */
    hour: at('hour').notNull(),
    /** Every presentation of a known secret: valid or EXPIRED. */
    uses: bigint('uses', { mode: 'number' }).notNull(),
    /** The EXPIRED ones among them: a client still sending a key that no longer works. */
    expiredUses: bigint('expired_uses', { mode: 'number' }).notNull().default(0),
    firstUsedAt: at('first_used_at').notNull(),
    lastUsedAt: at('last_used_at').notNull(),
  },
  (t) => [
    primaryKey({ name: 'secret_use_hours_pk', columns: [t.secretId, t.hour] }),
    // Retention drops whole hours: a range scan on the hour, not a scan of every row.
    index('secret_use_hours_hour_idx').on(t.hour),
  ],
);

/** The last presentation of each secret ever seen, kept after its hourly rows are dropped. */
export const secretLastUse = pgTable('secret_last_use', {
  secretId: uuid('secret_id')
    .primaryKey()
    .references(() => secrets.id),
  lastUsedAt: at('last_used_at').notNull(),
});

export type SecretUseHourRow = typeof secretUseHours.$inferSelect;
