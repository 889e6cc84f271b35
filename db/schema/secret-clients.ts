import { sql } from 'drizzle-orm';
import { bigint, check, index, pgTable, primaryKey, text, uuid } from 'drizzle-orm/pg-core';
import { at } from './columns.ts';
import { secrets } from './secrets.ts';

/**
 * Who presented each secret, per clock hour (UTC), as the gateway in front of rekey saw them: the
 * client's address and user agent. Written additively by the same statement as `secret_use_hours`, so
 * replicas add up exactly; dropped with it after 30 days. Only the clients each replica kept among its
 * top ones (a heavy-hitters tally, docs/architecture.md#usage-counting) are here, so a secret's hour
 * holds a handful of rows, not one per address. Never a key string: the user agent is scrubbed of
 * anything shaped like one before it is written.
 */
export const secretClientHours = pgTable(
  'secret_client_hours',
  {
    secretId: uuid('secret_id')
      .notNull()
      .references(() => secrets.id),
    /** Start of the clock hour (UTC) the presentations fell in. */
    hour: at('hour').notNull(),
    /** An IP literal, or '' when the gateway passed none (the "unknown client" is one entry). */
    ip: text('ip').notNull().default(''),
    /** At most 256 characters, or '' when none was passed. */
    userAgent: text('user_agent').notNull().default(''),
    uses: bigint('uses', { mode: 'number' }).notNull(),
    lastUsedAt: at('last_used_at').notNull(),
  },
  (t) => [
    primaryKey({ name: 'secret_client_hours_pk', columns: [t.secretId, t.hour, t.ip, t.userAgent] }),
    // Retention drops whole hours: a range scan on the hour, as for secret_use_hours.
    index('secret_client_hours_hour_idx').on(t.hour),
    check('secret_client_hours_user_agent_len', sql`char_length(${t.userAgent}) <= 256`),
  ],
);

export type SecretClientHourRow = typeof secretClientHours.$inferSelect;
