import { sql } from 'drizzle-orm';
import type { DbOrTx } from './database.ts';
import { postgresError } from './postgres-error.ts';

/** For the rest of this transaction, waiting for a row lock longer than `ms` fails (55P03). */
export async function setLockTimeout(tx: DbOrTx, ms: number): Promise<void> {
  await tx.execute(sql.raw(`set local lock_timeout = ${Math.max(1, Math.floor(ms))}`));
}

/** PostgreSQL's lock_not_available: the lock timeout above ran out. */
export function isLockTimeout(error: unknown): boolean {
  return postgresError(error)?.code === '55P03';
}
