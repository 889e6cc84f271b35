import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import * as schema from '../../db/schema/index.ts';
import type { Database, Db } from '../../src/store/database.ts';

/** The test database through a second Drizzle handle that counts every SQL statement it sends. */
export function countingDb(database: Database): { db: Db; statements: () => number } {
  let statements = 0;
  const logger = { logQuery: () => void statements++ };
  const db = (database.pglite
    ? drizzlePglite(database.pglite, { schema, logger })
    : drizzlePostgres(database.sql!, { schema, logger })) as unknown as Db;
  return { db, statements: () => statements };
}
