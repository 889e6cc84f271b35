import { sql } from 'drizzle-orm';
import { pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/** Database time, not the application Clock: liveness is not a business decision (docs/architecture.md#time). */
const dbTime = (name: string) =>
  timestamp(name, { withTimezone: true, mode: 'date' }).notNull().default(sql`clock_timestamp()`);

/**
 * One row per live process that sends notices. A notice claim names its holder here (`claimed_by`,
 * a foreign key with ON DELETE SET NULL): an instance says it is alive every few seconds, and one that
 * stopped saying so is deleted by the others, which releases every claim it held in the same statement.
 * A graceful stop deletes its own row. See docs/architecture.md#notices-exactly-once.
 */
export const instances = pgTable('instances', {
  /** `host:pid:random`, chosen at start: a restarted process is a new instance. */
  id: text('id').primaryKey(),
  startedAt: dbTime('started_at'),
  /** The last heartbeat, by the database's clock (the same clock every replica's liveness is judged by). */
  seenAt: dbTime('seen_at'),
});

export type InstanceRow = typeof instances.$inferSelect;
