import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestKey } from './support/fixtures.ts';
import { openTestDatabase, type TestDatabase } from './support/test-database.ts';
import { testServices } from './support/test-services.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database.close());

it('creates a key that verifies as active', async () => {
  const services = testServices(database);
  const { token } = await createTestKey(services);
  expect(await services.verifyKey(token)).toMatchObject({ valid: true, status: 'active' });
});
