import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { eq, isNull } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notifications, secrets } from '../../db/schema/index.ts';
import type { SlackPoster } from '../../src/scheduler/slack-poster.ts';
import type { Database } from '../../src/store/database.ts';
import { openPostgres } from '../../src/store/open-postgres.ts';
import { MINUTE, manualClock } from '../support/manual-clock.ts';
import { onRealPostgres, openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { testServices } from '../support/test-services.ts';
import { notificationsOf, recordingPoster, rotatedKey, tick } from './support.ts';

/** Row locks, SKIP LOCKED, several connections and a killed process need a real PostgreSQL server. */
describe.runIf(onRealPostgres)('on a real PostgreSQL, several replicas', () => {
  let database: TestDatabase;
  const replicas: Database[] = [];
  beforeAll(async () => {
    database = await openTestDatabase();
    for (let i = 0; i < 3; i++) replicas.push(await openPostgres(database.url!, { max: 3 }));
  });
  afterAll(async () => {
    for (const r of replicas) await r.close();
    await database.close();
  });

  async function quiet() {
    await database.db
      .update(secrets)
      .set({ retiredAt: new Date(0) })
      .where(isNull(secrets.retiredAt));
  }

  it('3 instances ticking together over 500 due notifications post each exactly once', async () => {
    await quiet();
    const clock = manualClock('2027-03-01T09:00:00Z');
    const services = testServices(database, { clock });
    const channels = Array.from({ length: 20 }, (_, i) => `CREPLICA${i}`);
    const keys = [];
    for (let i = 0; i < 500; i++) {
      keys.push(await rotatedKey(services, '1h', { channel: channels[i % channels.length]! }));
    }
    clock.advance(50 * MINUTE);

    const seen: string[][] = [[], [], []];
    const posterFor = (i: number): SlackPoster => ({
      chat: {
        postMessage: async (args) => {
          // Yield so the instances interleave their claims and sends.
          await new Promise((resolve) => setTimeout(resolve, 2));
          seen[i]!.push(args.text);
          return { ok: true };
        },
      },
    });
    const round = () =>
      Promise.all(
        replicas.map((replica, i) =>
          tick(replica, clock, posterFor(i), { instanceId: `replica-${i}`, batchSize: 40 }),
        ),
      );
    const reports = await round();
    clock.advance(MINUTE);
    await round();

    const texts = seen.flat();
    const counts = keys.map((k) => texts.filter((t) => t.includes(k.oldDisplay)).length);
    expect(counts.filter((c) => c !== 1)).toEqual([]);
    expect(reports.reduce((sum, r) => sum + r.sent, 0)).toBe(500);
    const rows = await database.db.select().from(notifications).where(eq(notifications.kind, 'reminder:10m'));
    expect(rows.filter((r) => r.status === 'sent')).toHaveLength(500);
    // Grouping: at most one message per channel per claimed batch, never one per reminder.
    const batches = reports.reduce((sum, r) => sum + r.batches, 0);
    expect(texts.length).toBeLessThanOrEqual(batches * channels.length);
    expect(texts.length).toBeLessThan(500);
  }, 120_000);

  it('recovers after a process is killed between claiming and sending', async () => {
    await quiet();
    const clock = manualClock('2027-04-01T09:00:00Z');
    const services = testServices(database, { clock });
    const key = await rotatedKey(services, '1h');
    clock.advance(50 * MINUTE);
    const leaseMs = 5 * MINUTE;

    const script = fileURLToPath(new URL('./fixtures/claim-then-hang.ts', import.meta.url));
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', script, database.url!, clock.now().toISOString(), String(leaseMs)],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('CLAIMED')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`child exited early with ${code}`)));
    });
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    expect((await notificationsOf(database, key.oldSecretId))['reminder:10m']).toMatchObject({
      status: 'claimed',
      claimedBy: 'doomed-process',
    });

    const slack = recordingPoster(clock);
    clock.advance(MINUTE);
    expect(await tick(database, clock, slack.poster, { leaseMs })).toMatchObject({ claimed: 0 });
    clock.advance(leaseMs);
    expect(await tick(database, clock, slack.poster, { leaseMs })).toMatchObject({ claimed: 1, sent: 1 });
    clock.advance(MINUTE);
    await tick(database, clock, slack.poster, { leaseMs });
    expect(slack.posts.filter((p) => p.text.includes(key.oldDisplay))).toHaveLength(1);
    expect((await notificationsOf(database, key.oldSecretId))['reminder:10m']).toMatchObject({
      status: 'sent',
      attempts: 2,
    });
  }, 60_000);
});
