import type { Db, DbOrTx } from './database.ts';
import { withDatabaseErrors } from './database-errors.ts';

/**
 * `db.transaction`, with the driver's failures translated once (database-errors.ts): services see
 * DATABASE_UNAVAILABLE or INTERNAL, never a raw driver error. Errors thrown by `work` that already are
 * AppErrors (a refusal, a key not found) roll the transaction back and pass through unchanged.
 */
export function runTransaction<T>(db: Db, work: (tx: DbOrTx) => Promise<T>): Promise<T> {
  return withDatabaseErrors(() => db.transaction(work));
}
