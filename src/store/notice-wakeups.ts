import { sql } from 'drizzle-orm';
import type { Sql } from 'postgres';
import type { Database, DbOrTx } from './database.ts';

/** The PostgreSQL channel every scheduler LISTENs on; the payload is a notice source's name. */
export const NOTICE_CHANNEL = 'rekey_notices';

/** What a source may be called: short, and safe to log. */
export const NOTICE_SOURCE_NAME = /^[a-z][a-z0-9_-]{0,40}$/;

/**
 * Says "a notice of `source` is due", inside the transaction that recorded it: when, and only if, that
 * transaction commits, every process running the scheduler (this one included) is woken for that
 * source and sends it within seconds instead of at its next tick
 * (docs/architecture.md#notices-exactly-once). Harmless to call more than once: NOTIFY folds identical
 * payloads of one transaction into one.
 */
export async function announceNoticeDue(tx: DbOrTx, source: string): Promise<void> {
  if (!NOTICE_SOURCE_NAME.test(source)) throw new Error(`not a notice source name: ${source}`);
  await tx.execute(sql`select pg_notify(${NOTICE_CHANNEL}, ${source})`);
}

export interface NoticeWakeups {
  close(): Promise<void>;
}

/**
 * LISTENs for announced notices. On PGlite the notifications travel within the process; on PostgreSQL
 * they come on a connection of the listener's own (`openListener`, so a transaction-mode pooler in
 * front of the pool does not matter). postgres.js LISTENs again by itself after a reconnect; what is
 * missed meanwhile is caught by the scheduler's sweep, so a wake-up only ever makes a notice earlier.
 */
export async function listenForNoticeWakeups(
  database: Database,
  onWake: (source: string) => void,
): Promise<NoticeWakeups> {
  const receive = (payload: string) => {
    if (NOTICE_SOURCE_NAME.test(payload)) onWake(payload);
  };
  if (database.pglite) {
    const unlisten = await database.pglite.listen(NOTICE_CHANNEL, receive);
    return { close: () => unlisten() };
  }
  if (!database.sql) throw new Error('notice wake-ups need a PGlite or postgres.js database');
  const client: Sql = database.openListener?.() ?? database.sql;
  const ownClient = client !== database.sql;
  try {
    const { unlisten } = await client.listen(NOTICE_CHANNEL, receive);
    return {
      async close() {
        await unlisten().catch(() => {});
        if (ownClient) await client.end({ timeout: 1 }).catch(() => {});
      },
    };
  } catch (error) {
    if (ownClient) void client.end({ timeout: 0 }).catch(() => {});
    throw error;
  }
}
