import { AppError } from '../errors.ts';
import type { Database } from './database.ts';
import { openPostgres } from './open-postgres.ts';

/**
 * `DATABASE_URL` set → PostgreSQL (through a transaction pooler with `REKEY_DATABASE_POOLER=transaction`,
 * LISTEN and migrations then on `REKEY_LISTEN_DATABASE_URL`); unset → embedded PGlite in
 * `REKEY_DATA_DIR`. Migrations apply here.
 */
export async function openDatabase(config: {
  DATABASE_URL?: string;
  REKEY_DATA_DIR: string;
  REKEY_DATABASE_POOLER?: 'none' | 'transaction';
  REKEY_LISTEN_DATABASE_URL?: string;
}): Promise<Database> {
  if (!config.DATABASE_URL) {
    // Loaded only here: PGlite's module alone costs a process tens of MB (a verify replica never needs it).
    const { openPglite } = await import('./open-pglite.ts');
    return openPglite(config.REKEY_DATA_DIR);
  }
  try {
    return await openPostgres(config.DATABASE_URL, {
      pooler: config.REKEY_DATABASE_POOLER,
      directUrl: config.REKEY_LISTEN_DATABASE_URL,
    });
  } catch (error) {
    throw new AppError(
      'DATABASE_UNAVAILABLE',
      `Cannot reach or migrate the PostgreSQL database in DATABASE_URL${config.REKEY_LISTEN_DATABASE_URL ? ' or REKEY_LISTEN_DATABASE_URL' : ''} (${(error as Error).message}). ` +
        'Check that the server is running and the URL is right, or unset DATABASE_URL to use the embedded database.',
      { cause: error },
    );
  }
}
