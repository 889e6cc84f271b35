import { afterAll, beforeAll, expect, it } from 'vitest';
import { UsageCounter } from '../../src/services/usage-counter.ts';
import { addUseCounts, dropUseHoursBefore } from '../../src/store/usage-store.ts';
import { createTestKey } from '../support/fixtures.ts';
import { readAllTables } from '../support/tables-text.ts';
import { openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { cliActor, testServices } from '../support/test-services.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database.close());

it('no table holds a key string after a create, two rotations and counted uses', async () => {
  const services = testServices(database);
  const created = await createTestKey(services);
  const tokens = [created.token];
  for (const delay of ['24h', 'now'] as const) {
    const r = await services.rotateKey({
      key: { name: created.key.name },
      delay,
      actor: cliActor,
      acknowledged: true,
      requestId: `np-${delay}`,
    });
    if (r.status === 'rotated') tokens.push(r.token);
  }
  expect(tokens).toHaveLength(3);
  // Uses of every secret, as the verify path counts them and the flusher writes them.
  const counter = new UsageCounter();
  const key = await services.showKey({ name: created.key.name });
  const now = services.clock.now().getTime();
  for (const secret of [key.current!, ...key.inGrace]) {
    const slot = counter.slotFor(secret.id);
    counter.record(slot, now - 40 * 24 * 3_600_000, false);
    counter.record(slot, now, true);
    // A client that puts its key where rekey records who it is: its user agent.
    for (const token of tokens) counter.record(slot, now, false, '10.0.3.7', `script/1.0 (key ${token})`);
  }
  await addUseCounts(database.db, counter.drain());
  // Retention moves the old hours' last use to secret_last_use: both usage tables hold rows.
  expect(await dropUseHoursBefore(database.db, new Date(now - 30 * 24 * 3_600_000))).toBe(
    1 + key.inGrace.length,
  );
  const { text: dump, rows } = await readAllTables(database.db);
  expect([...rows.keys()]).toEqual(
    expect.arrayContaining([
      'keys',
      'secrets',
      'audit_events',
      'secret_use_hours',
      'secret_last_use',
      'secret_client_hours',
    ]),
  );
  for (const [table, found] of rows) {
    if (table.startsWith('secret_')) expect(found.length, table).toBeGreaterThan(0);
  }
  expect(dump).toContain(created.key.name);
  for (const token of tokens) {
    expect(dump).not.toContain(token);
    // Not even the random body alone.
    expect(dump).not.toContain(token.slice('rk_live_'.length, 'rk_live_'.length + 32));
  }
});
