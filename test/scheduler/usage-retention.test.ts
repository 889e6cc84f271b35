import cron from 'node-cron';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  runUsageRetention,
  startUsageRetention,
  USAGE_RETENTION_CRON,
} from '../../src/scheduler/usage-retention-job.ts';
import { addUseCounts, findLastUses, findUseHours, type UseCount } from '../../src/store/usage-store.ts';
import { createTestKey } from '../support/fixtures.ts';
import { HOUR, manualClock } from '../support/manual-clock.ts';
import { openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { testServices } from '../support/test-services.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database.close());

const DAY = 24 * HOUR;
const silent = pino({ level: 'silent' });

const used = (secretId: string, hour: Date): UseCount => ({
  secretId,
  hour,
  uses: 1,
  expiredUses: 0,
  firstUsedAt: new Date(hour.getTime() + 60_000),
  lastUsedAt: new Date(hour.getTime() + 120_000),
});

/** A secret with one use in each of these hours (relative to `now`), and the hours that are stored. */
async function secretUsedAt(now: Date, hoursAgo: number[]) {
  const { key } = await createTestKey(testServices(database));
  const secretId = key.current!.id;
  const nowHour = Math.floor(now.getTime() / HOUR) * HOUR;
  await addUseCounts(
    database.db,
    hoursAgo.map((ago) => used(secretId, new Date(nowHour - ago * HOUR))),
  );
  const storedHours = async () =>
    (await findUseHours(database.db, [secretId], new Date(0))).map((r) => r.hour.toISOString());
  return { secretId, storedHours };
}

describe('usage retention', () => {
  it('drops the hours wholly older than 30 days, keeps the rest and every last use', async () => {
    const clock = manualClock('2026-06-30T10:30:00Z');
    // 30 days before 10:30 is 10:30 on May 31st: the 10:00 hour of that day is partly inside the window.
    const { secretId, storedHours } = await secretUsedAt(clock.now(), [0, 5, 30 * 24, 30 * 24 + 1, 40 * 24]);
    const dropped = await runUsageRetention({ db: database.db, clock, logger: silent });
    expect(dropped).toBe(2);
    expect(await storedHours()).toEqual([
      '2026-06-30T10:00:00.000Z',
      '2026-06-30T05:00:00.000Z',
      '2026-05-31T10:00:00.000Z',
    ]);
    expect((await findLastUses(database.db, [secretId])).get(secretId)?.toISOString()).toBe(
      '2026-06-30T10:02:00.000Z',
    );
    // A day later the May 31st hour is past the line too; running twice in a row drops nothing more.
    clock.advance(DAY);
    expect(await runUsageRetention({ db: database.db, clock, logger: silent })).toBe(1);
    expect(await runUsageRetention({ db: database.db, clock, logger: silent })).toBe(0);
    expect(await storedHours()).toEqual(['2026-06-30T10:00:00.000Z', '2026-06-30T05:00:00.000Z']);
  });

  it('is scheduled hourly, and each run drops through the injected clock', async () => {
    expect(cron.validate(USAGE_RETENTION_CRON)).toBe(true);
    const clock = manualClock('2026-09-01T00:10:00Z');
    const { storedHours } = await secretUsedAt(clock.now(), [1, 31 * 24]);
    const retention = startUsageRetention({ db: database.db, clock, logger: silent });
    try {
      await retention.tick();
      expect(await storedHours()).toEqual(['2026-08-31T23:00:00.000Z']);
    } finally {
      await retention.stop();
    }
  });
});
