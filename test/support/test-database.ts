import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import postgres from 'postgres';
import { inject } from 'vitest';
import type { Database } from '../../src/store/database.ts';
import { openPglite } from '../../src/store/open-pglite.ts';
import { openPostgres } from '../../src/store/open-postgres.ts';

/** Set in .ci/run (and by anyone with a server): the suite then runs on real PostgreSQL too. */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL?.trim() || undefined;
export const onRealPostgres = TEST_DATABASE_URL !== undefined;

export interface TestDatabase extends Database {
  /** A URL other processes can open (real PostgreSQL only). */
  url?: string;
}

/**
 * A fresh, migrated database for one test file: a copy of the PGlite template, or a new database on
 * the server named by TEST_DATABASE_URL (dropped on close), so files and parallel runs never share state.
 */
export async function openTestDatabase(options: { max?: number } = {}): Promise<TestDatabase> {
  if (!TEST_DATABASE_URL) {
    const template = readFileSync(inject('pgliteTemplate'));
    return openPglite('memory://', { loadDataDir: new Blob([template]) });
  }
  const name = `rekey_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const admin = postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  const database = await openPostgres(url.toString(), options);
  return {
    ...database,
    url: url.toString(),
    close: async () => {
      await database.close();
      await admin.unsafe(`drop database if exists "${name}" with (force)`);
      await admin.end({ timeout: 5 });
    },
  };
}
