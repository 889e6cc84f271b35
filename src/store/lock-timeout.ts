import { sql } from 'drizzle-orm';
import type { DbOrTx } from './database.ts';

/** For the rest of this transaction, waiting for a row lock longer than `ms` fails (55P03). */
export async function setLockTimeout(tx: DbOrTx, ms: number): Promise<void> {
  await tx.execute(sql.raw(`set local lock_timeout = ${Math.max(1, Math.floor(ms))}`));
}

/** PostgreSQL's lock_not_available, as either driver (or Drizzle's wrapper) reports it. */
export function isLockTimeout(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; current && depth < 5; depth++) {
    if ((current as { code?: string }).code === '55P03') return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}
