import { spawn } from 'node:child_process';
import { eq, inArray, isNull } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notifications, secrets } from '../../db/schema/index.ts';
import { hourStartMs } from '../../src/keys/usage.ts';
import { InstanceLiveness } from '../../src/scheduler/instance-liveness.ts';
import { createNoticeClient } from '../../src/scheduler/notice-client.ts';
import { type NoticeJobDeps, runNoticeTick } from '../../src/scheduler/notice-job.ts';
import type { NoticeTiming } from '../../src/scheduler/notice-timing.ts';
import type { SlackPoster } from '../../src/scheduler/slack-poster.ts';
import type { Database } from '../../src/store/database.ts';
import { openPostgres } from '../../src/store/open-postgres.ts';
import { addUseCounts } from '../../src/store/usage-store.ts';
import { startFakeSlack } from '../fake-slack/index.ts';
import { childScript } from '../support/child-scripts.ts';
import { MINUTE, manualClock } from '../support/manual-clock.ts';
import { onRealPostgres, openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { testServices } from '../support/test-services.ts';
import {
  DEFAULT_OFFSETS,
  foundDead,
  notificationsOf,
  recordingPoster,
  rotatedKey,
  silentLogger,
  tick,
} from './support.ts';

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
          // Every notice of a message is one of its blocks (the plain text is cut at Slack's limit).
          seen[i]!.push(JSON.stringify(args.blocks));
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
    // "Exactly once" is not one instance doing everything: the others took part.
    expect(seen.filter((posted) => posted.length > 0).length).toBeGreaterThan(1);
    expect(reports.reduce((sum, r) => sum + r.sent, 0)).toBe(500);
    const rows = await database.db.select().from(notifications).where(eq(notifications.kind, 'reminder:10m'));
    expect(rows.filter((r) => r.status === 'sent')).toHaveLength(500);
    // Grouping: at most one message per channel per claimed batch, never one per reminder.
    const batches = reports.reduce((sum, r) => sum + r.batches, 0);
    expect(texts.length).toBeLessThanOrEqual(batches * channels.length);
    expect(texts.length).toBeLessThan(500);
  }, 120_000);

  it('recovers after a process is killed between claiming and sending, once it is found dead', async () => {
    await quiet();
    const clock = manualClock('2027-04-01T09:00:00Z');
    const services = testServices(database, { clock });
    const key = await rotatedKey(services, '1h');
    clock.advance(50 * MINUTE);

    const child = spawn(
      process.execPath,
      [childScript('claim-then-hang'), database.url!, clock.now().toISOString()],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
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
    expect(await tick(database, clock, slack.poster)).toMatchObject({ claimed: 0 });
    expect(await foundDead(database, 'doomed-process')).toEqual(['doomed-process']);
    expect(await tick(database, clock, slack.poster)).toMatchObject({ claimed: 1, sent: 1 });
    clock.advance(MINUTE);
    await tick(database, clock, slack.poster);
    expect(slack.posts.filter((p) => p.text.includes(key.oldDisplay))).toHaveLength(1);
    expect((await notificationsOf(database, key.oldSecretId))['reminder:10m']).toMatchObject({
      status: 'sent',
      attempts: 2,
    });
  }, 60_000);

  it('Slack answering so slowly that a round outlasts the time after which a silent instance is dead: two live replicas still post each notice once', async () => {
    await quiet();
    const token = 'xoxb-slow-replicas';
    const fake = await startFakeSlack({ botToken: token });
    const manual = manualClock('2027-05-01T09:00:00Z');
    const services = testServices(database, { clock: manual });
    const keys: Array<Awaited<ReturnType<typeof rotatedKey>>> = [];
    for (let i = 0; i < 10; i++) keys.push(await rotatedKey(services, '1h', { channel: `CSLOW${i}` }));
    // From here on the application clock runs in real time, 50 minutes on: the 10-minute reminders are due.
    const offset = manual.now().getTime() + 50 * MINUTE - Date.now();
    const clock = { now: () => new Date(Date.now() + offset) };
    // Scaled down from the defaults, same rules: a heartbeat every 0.3 s, found dead after 2.5 s of
    // silence, no post started more than 1.2 s after the last confirmed heartbeat.
    const timing: NoticeTiming = {
      callTimeoutMs: 2000,
      retries: 0,
      backoffMaxMs: 0,
      rateLimitWaitMs: 0,
      beatEveryMs: 300,
      deadAfterMs: 2500,
      postGuardMs: 1200,
    };
    // Each post takes 0.7 s to answer; ten channels one after the other take 7 s, well past 2.5 s.
    fake.answerSlowly('chat.postMessage', 700);

    let done = false;
    const lives: InstanceLiveness[] = [];
    const replica = async (i: number) => {
      const instanceId = `slow-replica-${i}`;
      const liveness = new InstanceLiveness({
        db: replicas[i]!.db,
        instanceId,
        logger: silentLogger,
        timing,
      });
      lives.push(liveness);
      await liveness.start();
      const deps: NoticeJobDeps = {
        db: replicas[i]!.db,
        clock,
        poster: createNoticeClient({ token, slackApiUrl: fake.apiUrl, logger: silentLogger, timing }),
        offsets: DEFAULT_OFFSETS,
        logger: silentLogger,
        instanceId,
        holder: liveness,
        timing,
        channelIntervalMs: 0,
      };
      while (!done) {
        await runNoticeTick(deps);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    const sentCount = async () => {
      const rows = await database.db
        .select()
        .from(notifications)
        .where(
          inArray(
            notifications.secretId,
            keys.map((k) => k.oldSecretId),
          ),
        );
      return rows.filter((r) => r.status === 'sent').length;
    };
    try {
      const first = replica(0);
      // The second replica starts once the first holds every claim and is posting.
      await fake.waitFor((c) => c.method === 'chat.postMessage');
      const second = replica(1);
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline && (await sentCount()) < keys.length) {
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      done = true;
      await Promise.all([first, second]);
    } finally {
      done = true;
      for (const liveness of lives) await liveness.stop();
      await fake.close();
    }

    expect(await sentCount()).toBe(keys.length);
    const posts = fake.callsTo('chat.postMessage');
    const counts = keys.map((k) => posts.filter((p) => String(p.params.text).includes(k.oldDisplay)).length);
    expect(counts).toEqual(keys.map(() => 1));
    // The scenario really happened: the round went on well past the time a silent holder is dead in.
    expect(posts.at(-1)!.at - posts[0]!.at).toBeGreaterThan(2 * timing.deadAfterMs);
    // …and the live holder kept its claims all along: no notice was taken over by the second replica.
    const rows = await database.db
      .select()
      .from(notifications)
      .where(
        inArray(
          notifications.secretId,
          keys.map((k) => k.oldSecretId),
        ),
      );
    expect(rows.map((r) => r.attempts)).toEqual(keys.map(() => 1));
  }, 120_000);

  it('3 instances ticking together alert each key still presented after expiry exactly once', async () => {
    await quiet();
    const clock = manualClock('2027-04-01T09:00:00Z');
    const services = testServices(database, { clock });
    const keys = [];
    for (let i = 0; i < 30; i++) keys.push(await rotatedKey(services, '1h', { channel: `CAFTER${i % 5}` }));
    const expiry = keys[0]!.expiresAt.getTime();
    clock.set(new Date(expiry + MINUTE));
    const { poster: first } = recordingPoster(clock);
    await tick(database, clock, first); // the expiry alerts
    // Every even key is still sent by some client half an hour after it stopped working.
    const presented = keys.filter((_, i) => i % 2 === 0);
    const at = new Date(expiry + 30 * MINUTE);
    await addUseCounts(
      database.db,
      presented.map((k) => ({
        secretId: k.oldSecretId,
        hour: new Date(hourStartMs(at.getTime())),
        uses: 4,
        expiredUses: 4,
        firstUsedAt: at,
        lastUsedAt: at,
      })),
    );
    const seen: string[] = [];
    const poster: SlackPoster = {
      chat: {
        postMessage: async (args) => {
          await new Promise((resolve) => setTimeout(resolve, 2));
          seen.push(args.text);
          return { ok: true };
        },
      },
    };
    for (const minutes of [35, 40, 45]) {
      clock.set(new Date(expiry + minutes * MINUTE));
      await Promise.all(
        replicas.map((replica, i) =>
          tick(replica, clock, poster, { instanceId: `after-${i}`, batchSize: 4 }),
        ),
      );
    }
    const counts = keys.map((k) => seen.filter((t) => t.includes(k.oldDisplay)).length);
    expect(counts).toEqual(keys.map((_, i) => (i % 2 === 0 ? 1 : 0)));
    expect(seen.every((t) => t.includes('still sent after'))).toBe(true);
  });
});
