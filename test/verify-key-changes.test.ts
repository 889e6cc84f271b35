import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { KeyChanges } from '../src/services/key-changes.ts';
import type { Database } from '../src/store/database.ts';
import { openPostgres } from '../src/store/open-postgres.ts';
import { postVerify, startVerifyServer } from './http/verify-server.ts';
import { createTestKey } from './support/fixtures.ts';
import { onRealPostgres, openTestDatabase, type TestDatabase } from './support/test-database.ts';
import { testServices, uniqueName } from './support/test-services.ts';

async function until<T>(probe: () => Promise<T>, ok: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (ok(value) || performance.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 20));
  }
}

let database: TestDatabase;
/** The replica that does not make the change: on PostgreSQL a pool of its own, on PGlite the same database. */
let other: Database;
beforeAll(async () => {
  database = await openTestDatabase();
  other = onRealPostgres ? await openPostgres(database.url!) : database;
}, 60_000);
afterAll(async () => {
  if (other !== database) await other.close();
  await database.close();
});

it('a change of a key’s name or products reaches another replica’s cached verdicts within 1 s', async () => {
  const services = testServices(database);
  const replica = await startVerifyServer({
    database: other,
    changes: new KeyChanges(),
    clock: services.clock,
  });
  try {
    const { key, token } = await createTestKey(services, { products: ['search'] });
    // A second secret of the same key, in grace: both verdicts must change.
    const rotation = await services.rotateKey({
      key: { id: key.id },
      delay: '24h',
      actor: { id: 'cli:test', source: 'cli' },
      acknowledged: true,
      requestId: uniqueName('req'),
    });
    if (rotation.status !== 'rotated') throw new Error('expected a rotation');
    for (const t of [token, rotation.token, token, rotation.token]) {
      expect((await postVerify(replica.url, { key: t })).json).toMatchObject({
        name: key.name,
        products: ['search'],
      });
    }

    const renamed = uniqueName('renamed');
    // A hand-typed UPDATE on another connection: only the database can tell the replica.
    await database.db.execute(
      sql`update keys set name = ${renamed}, products = array['search', 'ads'] where id = ${key.id}`,
    );
    const changedAt = performance.now();
    for (const t of [rotation.token, token]) {
      const seen = await until(
        () => postVerify(replica.url, { key: t }),
        (r) => r.json.name === renamed,
        3_000,
      );
      expect(seen.json).toMatchObject({ valid: true, name: renamed, products: ['search', 'ads'] });
    }
    expect(performance.now() - changedAt).toBeLessThan(1_000);
  } finally {
    await replica.close();
  }
});
