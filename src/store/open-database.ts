import { AppError } from '../errors.ts';
import type { Database } from './database.ts';
import { openPglite } from './open-pglite.ts';
import { openPostgres } from './open-postgres.ts';

/** `DATABASE_URL` set → PostgreSQL; unset → embedded PGlite in `REKEY_DATA_DIR`. Migrations apply here. */
export async function openDatabase(config: {
  DATABASE_URL?: string;
  REKEY_DATA_DIR: string;
}): Promise<Database> {
  if (!config.DATABASE_URL) return openPglite(config.REKEY_DATA_DIR);
  try {
    return await openPostgres(config.DATABASE_URL);
  } catch (error) {
    throw new AppError(
      'DATABASE_UNAVAILABLE',
      `Cannot reach or migrate the PostgreSQL database in DATABASE_URL (${(error as Error).message}). ` +
        'Check that the server is running and the URL is right, or unset DATABASE_URL to use the embedded database.',
      { cause: error },
    );
  }
}
