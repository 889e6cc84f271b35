import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import * as schema from '../../db/schema/index.ts';
import { withCrashSafeBegin } from './crash-safe-begin.ts';
import type { Database, ListenerEvents } from './database.ts';
import { MIGRATIONS_FOLDER } from './migrations-folder.ts';

/** Any constant works; it only has to be the same for every replica. */
const MIGRATION_LOCK_ID = 7_312_024_001;

/**
 * Migrates under an advisory lock on a dedicated connection, so replicas starting together apply the
 * migrations once instead of racing each other.
 */
async function migrateOnce(url: string): Promise<void> {
  const client = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await client`select pg_advisory_lock(${MIGRATION_LOCK_ID})`;
    await migrate(drizzle(client), { migrationsFolder: MIGRATIONS_FOLDER });
    await client`select pg_advisory_unlock(${MIGRATION_LOCK_ID})`;
  } finally {
    await client.end({ timeout: 5 });
  }
}

export interface PostgresOptions {
  /** The pool's size (default 20). */
  max?: number;
  /**
   * `transaction`: `url` is a transaction pooler (PgBouncer `pool_mode = transaction`), which hands each
   * transaction to whichever server connection is free. Nothing may then rely on a session: no named
   * prepared statements (PgBouncer before 1.21 does not carry them, and a statement prepared on one
   * server connection is unknown on the next), no session settings (rekey only uses `SET LOCAL`), no
   * session advisory lock and no LISTEN. Those two go to `directUrl` instead.
   */
  pooler?: 'none' | 'transaction';
  /**
   * A direct (session) connection to the same database, for what a transaction pooler cannot carry:
   * LISTEN (REKEY_LISTEN_DATABASE_URL) and the migrations' advisory lock. Default: `url`.
   */
  directUrl?: string;
}

export async function openPostgres(url: string, options: PostgresOptions = {}): Promise<Database> {
  const directUrl = options.directUrl ?? url;
  await migrateOnce(directUrl);
  const client = withCrashSafeBegin(
    postgres(url, {
      max: options.max ?? 20,
      onnotice: () => {},
      // Fail fast when the server is gone, so callers can answer 503 instead of hanging.
      connect_timeout: 5,
      idle_timeout: 60,
      // The one switch for a transaction pooler: every statement unnamed, including the verify path's
      // `.prepare()`d lookup (Drizzle hands preparing to postgres.js, which honours this client-wide).
      prepare: options.pooler !== 'transaction',
    }),
  );
  const db = drizzle(client, { schema });
  return {
    db,
    driver: 'postgres',
    sql: client,
    openListener: ({ onnotify, onclose }: Partial<ListenerEvents> = {}) => {
      const options = {
        max: 1,
        onnotice: () => {},
        connect_timeout: 5,
        // Held for as long as the channel listens: a connection ended by a timer would end LISTEN.
        idle_timeout: 0,
        max_lifetime: null,
        onclose,
        // The option postgres.js's own listen() receives notifications through (not in its types).
        onnotify,
      };
      return postgres(directUrl, options);
    },
    ping: async () => {
      await db.execute(sql`select 1`);
    },
    close: () => client.end({ timeout: 5 }),
  };
}
