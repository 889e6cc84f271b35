import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { rowsOf } from '../../src/store/database.ts';
import { verificationLookupManyQuery } from '../../src/store/secrets-store.ts';
import { openTestDatabase, type TestDatabase } from '../support/test-database.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database.close());

it('looks a batch of hashes up through the unique hash index', async () => {
  const query = verificationLookupManyQuery(database.db).toSQL();
  // The statement's one parameter, inlined for EXPLAIN (hex hashes need no quoting beyond this).
  const text = query.sql.replace('$1', `'{${'a'.repeat(64)},${'b'.repeat(64)}}'`);
  expect(text).not.toContain('$');
  const plan = await database.db.transaction(async (tx) => {
    // A test table is tiny, where a sequential scan is the planner's right choice; what matters is
    // that `hash = any(…)` can use the index at all (a rewrite that could not would fall back to a
    // scan of every secret on each cold batch).
    await tx.execute(sql`set local enable_seqscan = off`);
    return rowsOf<{ 'QUERY PLAN': string }>(await tx.execute(sql.raw(`explain ${text}`)))
      .map((row) => row['QUERY PLAN'])
      .join('\n');
  });
  expect(plan).toContain('secrets_hash_uq');
  expect(plan).not.toMatch(/Seq Scan on secrets/);
});
