import type { Database } from './database.ts';

/**
 * LISTENs on `channel` and calls `onNotify` for each notification; resolves with the way to stop. A
 * wake-up only (payloads are ignored), so a missed one costs latency, never correctness: callers also
 * sweep. On PGlite it is in-process (one process has the database); on PostgreSQL it uses a client of
 * its own (`openListener`: a direct connection even behind a transaction pooler), which postgres.js
 * LISTENs again after a reconnect.
 */
export async function listenForNotify(
  database: Database,
  channel: string,
  onNotify: () => void,
): Promise<() => Promise<void>> {
  if (database.pglite) {
    const unlisten = await database.pglite.listen(channel, () => onNotify());
    return () => unlisten();
  }
  if (!database.sql) throw new Error('LISTEN needs a PGlite or postgres.js database');
  const client = database.openListener?.() ?? database.sql;
  const own = client !== database.sql;
  try {
    const { unlisten } = await client.listen(channel, () => onNotify());
    return async () => {
      await unlisten().catch(() => {});
      if (own) await client.end({ timeout: 1 });
    };
  } catch (error) {
    if (own) void client.end({ timeout: 0 }).catch(() => {});
    throw error;
  }
}
