import { afterAll, beforeAll, expect, it } from 'vitest';
import { KeyChanges } from '../../src/services/key-changes.ts';
import { ids } from '../../src/slack/ids.ts';
import type { Database } from '../../src/store/database.ts';
import { openPostgres } from '../../src/store/open-postgres.ts';
import { postVerify, startVerifyServer } from '../http/verify-server.ts';
import { createTestKey, rotateTestKey } from '../support/fixtures.ts';
import { onRealPostgres, openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { uniqueName } from '../support/test-services.ts';
import { type SlackHarness, startSlackHarness } from './harness.ts';
import { HomeUser } from './home-driver.ts';

const ADMIN = 'UADMINR';

/** Polls until `ok` (or the deadline), so the test waits exactly as long as the change takes to arrive. */
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
let h: SlackHarness;
let replica: Awaited<ReturnType<typeof startVerifyServer>>;
beforeAll(async () => {
  database = await openTestDatabase();
  other = onRealPostgres ? await openPostgres(database.url!) : database;
  h = await startSlackHarness(database, { admins: [ADMIN] });
  // Its own KeyChanges: nothing made through the Slack side reaches it except through the database.
  replica = await startVerifyServer({ database: other, changes: new KeyChanges(), clock: h.services.clock });
}, 60_000);
afterAll(async () => {
  await replica?.close();
  await h?.close();
  if (other !== database) await other?.close();
  await database?.close();
});

const verifyOnReplica = (key: string) => postVerify(replica.url, { key });

/** Presses a card's button on the admin's Home and waits for its dialog. */
async function openCardDialog(admin: HomeUser, keyId: string, actionId: string) {
  await admin.openHome();
  const button = admin.cardButton(keyId, actionId);
  if (!button) throw new Error(`no ${actionId} on the card`);
  await admin.press(button);
  return admin.waitForModal();
}

it('a rename and a products change saved in Edit reach the other replica’s cached verdicts within 1 s', async () => {
  const { key, token } = await createTestKey(h.services, { products: ['search'], maintainers: ['UREP1'] });
  const rotation = await rotateTestKey(h.services, { id: key.id }, '24h');
  // Both secrets cached on the replica as they are now (a second ask is a cache hit).
  for (const t of [token, rotation.token, token, rotation.token]) {
    expect((await verifyOnReplica(t)).json).toMatchObject({ name: key.name, products: ['search'] });
  }
  const admin = new HomeUser(h, ADMIN);
  await openCardDialog(admin, key.id, ids.home.edit);
  const renamed = uniqueName('renamed');

  const saved = await admin.slack.submit({
    [ids.blocks.name]: renamed,
    [ids.blocks.products]: 'search, ads',
  });
  const savedAt = performance.now();

  expect(saved.json).toMatchObject({ response_action: 'update' });
  for (const t of [rotation.token, token]) {
    const seen = await until(
      () => verifyOnReplica(t),
      (r) => r.json.name === renamed,
      3_000,
    );
    expect(seen.json).toMatchObject({ valid: true, name: renamed, products: ['search', 'ads'] });
  }
  expect(performance.now() - savedAt).toBeLessThan(1_000);
});

it('a key deleted in Slack is NOT_FOUND on the other replica within 1 s, current and old key alike', async () => {
  const { key, token } = await createTestKey(h.services, { maintainers: ['UREP2'] });
  const rotation = await rotateTestKey(h.services, { id: key.id }, '24h');
  for (const t of [token, rotation.token, token, rotation.token]) {
    expect((await verifyOnReplica(t)).json).toMatchObject({ valid: true });
  }
  const admin = new HomeUser(h, ADMIN);
  await openCardDialog(admin, key.id, ids.home.delete);

  const deleted = await admin.slack.submit({ [ids.blocks.confirmName]: key.name });
  const deletedAt = performance.now();

  expect(JSON.stringify(deleted.json)).toContain('is deleted');
  for (const t of [rotation.token, token]) {
    const seen = await until(
      () => verifyOnReplica(t),
      (r) => r.json.valid === false,
      3_000,
    );
    expect(seen.json).toEqual({ valid: false, code: 'NOT_FOUND' });
  }
  expect(performance.now() - deletedAt).toBeLessThan(1_000);
});
