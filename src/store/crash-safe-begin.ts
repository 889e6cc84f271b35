import type { Sql, TransactionSql } from 'postgres';
import { isConnectionGone } from './database-errors.ts';

type Work<T> = (tx: TransactionSql) => T | Promise<T>;

/**
 * A postgres.js client whose `begin` cannot take the process down.
 *
 * postgres.js (3.4.x) answers a connection the server ended in the middle of a transaction — a
 * failover, `pg_terminate_backend`, `idle_in_transaction_session_timeout` — by rejecting the query
 * (CONNECTION_CLOSED, which services report as DATABASE_UNAVAILABLE) and then writing its own ROLLBACK,
 * from a setImmediate, onto the socket it has just dropped: a TypeError no caller can catch, so every
 * replica would exit at once during a database failover. This `begin` runs BEGIN/COMMIT/ROLLBACK itself
 * on a reserved connection and, once the connection is known to be gone, writes nothing more to it and
 * does not hand it back (the pool has already taken it back as closed and reconnects it when needed;
 * releasing it would put a dead connection among the open ones). The server rolls back a transaction
 * whose connection ended, so skipping ROLLBACK loses nothing.
 *
 * Nested transactions (savepoints) are not offered: rekey's services never nest them.
 */
export function withCrashSafeBegin(client: Sql): Sql {
  const begin = async <T>(...args: [Work<T>] | [string, Work<T>]): Promise<T> => {
    const [mode, work] = args.length === 1 ? ['', args[0]] : args;
    const reserved = await client.reserve();
    let connectionGone = false;
    try {
      // Only letters and spaces, as postgres.js's own begin allows ("isolation level serializable").
      await reserved.unsafe(`begin ${mode.replace(/[^a-z ]/gi, '')}`);
      const tx = Object.assign(reserved, {
        savepoint: () => Promise.reject(new Error('rekey does not nest transactions')),
      }) as unknown as TransactionSql;
      const result = await work(tx);
      await reserved.unsafe('commit');
      return result;
    } catch (error) {
      connectionGone = isConnectionGone(error);
      if (!connectionGone) {
        await reserved.unsafe('rollback').catch((rollbackError: unknown) => {
          connectionGone = isConnectionGone(rollbackError);
        });
      }
      throw error;
    } finally {
      if (!connectionGone) reserved.release();
    }
  };
  return new Proxy(client, {
    get: (target, property, receiver) =>
      property === 'begin' ? begin : Reflect.get(target, property, receiver),
  });
}
