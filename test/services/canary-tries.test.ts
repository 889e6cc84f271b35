import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canaryTries } from '../../db/schema/index.ts';
import { type AskerDetails, createCanaryTryRecorder } from '../../src/services/canary-tries.ts';
import { silentLogger } from '../scheduler/support.ts';
import { failableDb } from '../slack/harness.ts';
import { openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { cliActor, testServices, uniqueName } from '../support/test-services.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database.close());

const ASKER: AskerDetails = {
  via: 'verify',
  clientIp: '192.0.2.1',
  userAgent: 'scanner/1.0',
  uri: null,
  method: null,
  askedBy: '#1 (00000000)',
};

async function canaryId() {
  const { key } = await testServices(database).createKey({
    name: uniqueName('decoy'),
    alertChannel: 'CSEC',
    canary: true,
    actor: cliActor,
  });
  return key.id;
}

const rowsOf = (keyId: string) => database.db.select().from(canaryTries).where(eq(canaryTries.keyId, keyId));
const total = (rows: Array<{ count: number }>) => rows.reduce((n, r) => n + r.count, 0);

describe('canary tries are written off the request path, from a bounded queue', () => {
  it('record() only queues (the request is not kept waiting); a write holds one row per asker, counting its tries', async () => {
    const keyId = await canaryId();
    const recorder = createCanaryTryRecorder({
      db: database.db,
      logger: silentLogger,
      describe: (asker) => ({ ...ASKER, clientIp: asker as string }),
    });
    for (let i = 0; i < 5; i++) recorder.record(keyId, Date.UTC(2026, 0, 1, 0, 0, i), '192.0.2.1');
    recorder.record(keyId, Date.UTC(2026, 0, 1, 0, 0, 9), '198.51.100.7');
    expect(recorder.pending).toBe(6);
    await recorder.flush();
    expect(recorder.pending).toBe(0);
    const rows = await rowsOf(keyId);
    expect(rows).toHaveLength(2);
    expect(rows).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          clientIp: '192.0.2.1',
          count: 5,
          triedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, 4)),
        }),
        expect.objectContaining({ clientIp: '198.51.100.7', count: 1 }),
      ]),
    );
  });

  it('a flood costs a few writes a second: after a write, the next waits for the gap', async () => {
    const keyId = await canaryId();
    let writes = 0;
    const counting = new Proxy(database.db, {
      get(target, prop, receiver) {
        if (prop === 'transaction') writes += 1;
        return Reflect.get(target, prop, receiver);
      },
    });
    const recorder = createCanaryTryRecorder({ db: counting, logger: silentLogger, minGapMs: 200 });
    const started = performance.now();
    while (performance.now() - started < 1_000) {
      recorder.record(keyId, Date.now(), undefined);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await recorder.flush();
    expect(writes).toBeLessThanOrEqual(7);
    expect(total(await rowsOf(keyId))).toBeGreaterThan(50);
  });

  it('past the bound, tries are only counted: one row per canary holds their number, so "N more tries" stays exact', async () => {
    const keyId = await canaryId();
    const recorder = createCanaryTryRecorder({
      db: database.db,
      logger: silentLogger,
      describe: () => ASKER,
      maxQueued: 3,
    });
    for (let i = 0; i < 10; i++) recorder.record(keyId, Date.UTC(2026, 0, 1, 0, 0, i), undefined);
    expect(recorder.pending).toBe(10);
    await recorder.flush();
    const rows = await rowsOf(keyId);
    expect(total(rows.filter((r) => r.via === 'verify'))).toBe(3);
    expect(rows.filter((r) => r.via === 'unrecorded')).toMatchObject([
      { count: 7, clientIp: null, triedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, 3)) },
    ]);
    expect(total(rows)).toBe(10);
  });

  it('while the database is down nothing is lost: the tries wait (as counts past the bound) and go out once it answers', async () => {
    const keyId = await canaryId();
    const failable = failableDb(database.db);
    const recorder = createCanaryTryRecorder({
      db: failable.db,
      logger: silentLogger,
      describe: () => ASKER,
      maxQueued: 4,
      retryMs: 10,
    });
    failable.fail(true);
    for (let i = 0; i < 3; i++) recorder.record(keyId, Date.UTC(2026, 0, 1, 0, 0, i), undefined);
    await recorder.flush();
    for (let i = 3; i < 9; i++) recorder.record(keyId, Date.UTC(2026, 0, 1, 0, 0, i), undefined);
    await recorder.flush();
    expect(recorder.pending).toBe(9);
    failable.fail(false);
    await recorder.flush();
    expect(recorder.pending).toBe(0);
    const rows = await rowsOf(keyId);
    expect(total(rows)).toBe(9);
    // Past the bound while it waited, tries were kept as a count only.
    expect(rows.filter((r) => r.via === 'unrecorded')).toHaveLength(1);
  });
});
