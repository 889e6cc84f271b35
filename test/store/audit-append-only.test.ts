import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { rowsOf } from '../../src/store/database.ts';
import { createTestKey } from '../support/fixtures.ts';
import { openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { testServices } from '../support/test-services.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database.close());

it('refuses TRUNCATE of the audit trail, like UPDATE and DELETE, and keeps every event', async () => {
  const services = testServices(database);
  await createTestKey(services);
  const count = async () =>
    Number(
      rowsOf<{ n: number | string }>(
        await database.db.execute(sql`select count(*) as n from audit_events`),
      )[0]!.n,
    );
  const before = await count();
  expect(before).toBeGreaterThan(0);
  const refusal = await database.db.execute(sql`truncate audit_events`).then(
    () => undefined,
    (error: { cause?: { message?: string; code?: string } }) => error.cause,
  );
  // Refused by the database's own trigger, whoever asks (not by a missing privilege or a lock).
  expect(refusal).toMatchObject({
    code: '23514',
    message: expect.stringContaining('audit events are append-only; TRUNCATE is refused'),
  });
  expect(await count()).toBe(before);
});
