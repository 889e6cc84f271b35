import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { instances } from '../../db/schema/index.ts';
import { NOTICE_SOURCES, type SlackPoster } from '../../src/scheduler/index.ts';
import { InstanceLiveness } from '../../src/scheduler/instance-liveness.ts';
import { type NoticeJobDeps, runNoticeTick } from '../../src/scheduler/notice-job.ts';
import { NOTICE_TIMING } from '../../src/scheduler/notice-timing.ts';
import { type Scheduler, startScheduler } from '../../src/scheduler/start-scheduler.ts';
import { heartbeat, registerInstance } from '../../src/services/instance-liveness.ts';
import { claimDueNotices } from '../../src/services/notify-expiring.ts';
import { failableDb } from '../slack/harness.ts';
import { HOUR, type ManualClock, MINUTE } from '../support/manual-clock.ts';
import { openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import {
  DEFAULT_OFFSETS,
  foundDead,
  notificationsOf,
  type Post,
  recordingPoster,
  rotatedKey,
  schedulerEra,
  secretRow,
  silentLogger,
} from './support.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database.close());

let era = 0;
const setup = () => schedulerEra(database, ++era, Date.UTC(2029, 0, 1));

/** A poster that records who posted what, and can hold posts until released (Slack taking its time). */
function heldPoster(clock: ManualClock) {
  const posts: Array<Post & { by: string }> = [];
  let release: () => void = () => {};
  let held: Promise<void> | undefined;
  const started: Array<() => void> = [];
  const as = (by: string): SlackPoster => ({
    chat: {
      postMessage: async (args) => {
        for (const notify of started.splice(0)) notify();
        if (held) await held;
        posts.push({ channel: args.channel, text: args.text, at: clock.now(), by });
        return { ok: true };
      },
    },
  });
  return {
    posts,
    as,
    /** From now on, posts wait until `release()`. */
    hold() {
      held = new Promise((resolve) => {
        release = () => {
          held = undefined;
          resolve();
        };
      });
    },
    release: () => release(),
    /** Resolves when the next post starts. */
    nextPost: () => new Promise<void>((resolve) => started.push(resolve)),
  };
}

function deps(clock: ManualClock, poster: SlackPoster, instanceId: string, holder?: InstanceLiveness) {
  return {
    db: database.db,
    clock,
    poster,
    offsets: DEFAULT_OFFSETS,
    logger: silentLogger,
    instanceId,
    holder,
    channelIntervalMs: 0,
  } satisfies NoticeJobDeps;
}

const channelsOf = (posts: Post[]) => posts.map((p) => p.channel).sort();

/** A live instance (the production cadence) whose round is under way, its first post held by Slack. */
async function roundInFlight(clock: ManualClock, slack: ReturnType<typeof heldPoster>, instanceId: string) {
  const liveness = new InstanceLiveness({
    db: database.db,
    instanceId,
    logger: silentLogger,
    timing: NOTICE_TIMING,
  });
  await liveness.start();
  slack.hold();
  const posting = slack.nextPost();
  const round = runNoticeTick(deps(clock, slack.as(instanceId), instanceId, liveness));
  await posting;
  return { liveness, round };
}

describe('a claim belongs to a live instance', () => {
  it('a live instance keeps its claims when the application clock jumps by hours: the others take none of them', async () => {
    const { clock, services } = await setup();
    const key = await rotatedKey(services, '72h');
    clock.set(new Date(key.expiresAt.getTime() - 24 * HOUR));
    const slack = heldPoster(clock);
    const { liveness: a, round: aRound } = await roundInFlight(clock, slack, 'jump-a');

    // Ten hours later by the application clock (still before the next reminder), another instance
    // beats and ticks: it finds A alive, by the database's clock, and leaves its claim alone.
    clock.advance(10 * HOUR);
    const found = await heartbeat(
      { db: database.db },
      { instanceId: 'jump-b', deadAfterMs: NOTICE_TIMING.deadAfterMs },
    );
    expect(found.reaped).toEqual([]);
    const other = recordingPoster(clock);
    expect(await runNoticeTick(deps(clock, other.poster, 'jump-b'))).toMatchObject({ claimed: 0 });
    expect(other.posts).toEqual([]);
    expect((await notificationsOf(database, key.oldSecretId))['reminder:24h']).toMatchObject({
      status: 'claimed',
      claimedBy: 'jump-a',
    });

    slack.release();
    expect(await aRound).toMatchObject({ sent: 1 });
    await a.stop();
    expect(slack.posts.map((p) => [p.channel, p.by])).toEqual([[key.channel, 'jump-a']]);
  });

  it('an instance that stops saying it is alive is found dead by another’s heartbeat, and its claims go out at once', async () => {
    const { clock, services } = await setup();
    const key = await rotatedKey(services, '1h');
    clock.set(new Date(key.expiresAt.getTime() - 10 * MINUTE));
    // A process that said it was alive once, claimed, and died before posting.
    await registerInstance({ db: database.db }, 'silent');
    await claimDueNotices(
      { db: database.db },
      { now: clock.now(), offsets: DEFAULT_OFFSETS, instanceId: 'silent', limit: 10 },
    );
    const slack = heldPoster(clock);
    // Before it is found dead, its claim is its own: another instance's tick takes nothing.
    expect(await runNoticeTick(deps(clock, slack.as('watcher'), 'watcher'))).toMatchObject({ claimed: 0 });
    // That instance, on a scaled-down cadence (a heartbeat every 0.2 s, silent 1.5 s is dead), ticks
    // whenever its heartbeat found someone dead, as the scheduler does.
    let taken: Promise<unknown> | undefined;
    const found = new Promise<string[]>((resolve) => {
      const b = new InstanceLiveness({
        db: database.db,
        instanceId: 'watcher',
        logger: silentLogger,
        timing: { beatEveryMs: 200, deadAfterMs: 1_500, postGuardMs: 1_000 },
        onReaped: (ids) => {
          // Instances earlier tests left behind are found dead too; this one is what matters here.
          if (!ids.includes('silent')) return;
          taken = runNoticeTick(deps(clock, slack.as('watcher'), 'watcher', b)).finally(() => b.stop());
          resolve(ids);
        },
      });
      void b.start();
    });
    expect(await found).toContain('silent');
    await taken;
    expect(slack.posts.map((p) => [p.channel, p.by])).toEqual([[key.channel, 'watcher']]);
    expect(await database.db.select().from(instances).where(eq(instances.id, 'silent'))).toEqual([]);
  });

  it('an instance found dead while it is still running posts nothing more of what it held: only the post in flight can go twice', async () => {
    const { clock, services } = await setup();
    const keys = [];
    for (let i = 0; i < 4; i++) keys.push(await rotatedKey(services, '1h'));
    clock.set(new Date(keys[0]!.expiresAt.getTime() - 10 * MINUTE));
    const slack = heldPoster(clock);
    const { liveness: paused, round } = await roundInFlight(clock, slack, 'paused');

    // While its first post hangs, the others find it dead (as after a long pause): its claims are
    // released. Its next heartbeat finds its row gone: it is alive again, but what it held is not its own.
    expect(await foundDead(database, 'paused')).toEqual(['paused']);
    await paused.confirm();
    slack.release();
    expect(await round).toMatchObject({ sent: 0 });
    expect(slack.posts.map((p) => p.by)).toEqual(['paused']);

    const rest = await runNoticeTick(deps(clock, slack.as('survivor'), 'survivor'));
    expect(rest).toMatchObject({ claimed: 4, sent: 4 });
    await paused.stop();
    // Every channel heard it; the one post in flight when it was found dead is the only repeat.
    expect(channelsOf(slack.posts.filter((p) => p.by === 'survivor'))).toEqual(
      channelsOf(keys.map((k) => ({ channel: k.channel! }) as Post)),
    );
    expect(slack.posts).toHaveLength(5);
  });

  it('a live instance that cannot record its round gives every claim back instead of holding it for as long as it lives', async () => {
    const { clock, services } = await setup();
    const keys = [await rotatedKey(services, '1h'), await rotatedKey(services, '1h')];
    clock.set(new Date(keys[0]!.expiresAt.getTime() - 10 * MINUTE));
    const failable = failableDb(database.db);
    const slack = heldPoster(clock);
    const unlucky = new InstanceLiveness({
      db: failable.db,
      instanceId: 'unlucky',
      logger: silentLogger,
      timing: NOTICE_TIMING,
    });
    await unlucky.start();
    // Its first post is recorded as reached; then the database stops answering it, so the second
    // post's reach and the round's outcome cannot be written.
    let posted = 0;
    const poster: SlackPoster = {
      chat: {
        postMessage: async (args) => {
          if (posted++ === 1) failable.fail(true);
          return slack.as('unlucky').chat.postMessage(args);
        },
      },
    };
    await expect(
      runNoticeTick({ ...deps(clock, poster, 'unlucky', unlucky), db: failable.db }),
    ).rejects.toThrow('ECONNREFUSED');
    failable.fail(false);
    // Still alive: its next heartbeat lets go of everything it held.
    await unlucky.confirm();
    const rest = await runNoticeTick(deps(clock, slack.as('survivor'), 'survivor'));
    await unlucky.stop();
    expect(rest).toMatchObject({ claimed: 2, sent: 2 });
    // Only the notice whose reach was never written is posted again.
    expect(slack.posts.map((p) => p.by)).toEqual(['unlucky', 'unlucky', 'survivor']);
    expect(channelsOf(slack.posts)).toEqual(
      channelsOf([...keys, keys[1]!].map((k) => ({ channel: k.channel! }) as Post)),
    );
  });
});

describe('a graceful stop', () => {
  it('gives back at once what it has not sent: another scheduler, woken by it, sends the rest without waiting for its tick', async () => {
    const { clock, services } = await setup();
    const keys: Awaited<ReturnType<typeof rotatedKey>>[] = [];
    for (let i = 0; i < 4; i++) keys.push(await rotatedKey(services, '1h'));
    clock.set(new Date(keys[0]!.expiresAt.getTime() - 10 * MINUTE));
    const slack = heldPoster(clock);
    const start = (instanceId: string, cron: string): Scheduler =>
      startScheduler(cron, {
        db: database.db,
        database,
        clock,
        poster: slack.as(instanceId),
        offsets: DEFAULT_OFFSETS,
        policyOffsets: [],
        // Mondays at 09:00 in 2029: never during this test.
        digestCron: '0 9 * * 1',
        sources: NOTICE_SOURCES,
        logger: silentLogger,
        instanceId,
        channelIntervalMs: 0,
        sweepEveryMs: HOUR,
      });
    // B ticks once a year: only a wake-up can make it send during this test.
    const b = start('stays', '0 0 1 1 *');
    const a = start('leaves', '0 0 1 1 *');
    try {
      await Promise.all([a.ready, b.ready]);
      slack.hold();
      const posting = slack.nextPost();
      const aTick = a.tick();
      await posting;
      // A stops with one post in flight and three claims in hand; the post in flight finishes.
      const stopped = a.stop();
      slack.release();
      await stopped;
      await aTick;
      const rows = await Promise.all(keys.map((k) => notificationsOf(database, k.oldSecretId)));
      expect(rows.map((r) => r['reminder:10m']?.claimedBy ?? null).filter((by) => by === 'leaves')).toEqual(
        [],
      );
      expect(await database.db.select().from(instances).where(eq(instances.id, 'leaves'))).toEqual([]);

      // B heard the release and sends the rest, each once (and records them: a post comes just before
      // its record).
      const allSent = async () =>
        (await Promise.all(keys.map((k) => notificationsOf(database, k.oldSecretId)))).every(
          (r) => r['reminder:10m']?.status === 'sent',
        );
      const deadline = Date.now() + 10_000;
      while ((slack.posts.length < keys.length || !(await allSent())) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(slack.posts.filter((p) => p.by === 'leaves')).toHaveLength(1);
      expect(slack.posts.filter((p) => p.by === 'stays')).toHaveLength(keys.length - 1);
      expect(channelsOf(slack.posts)).toEqual(channelsOf(keys.map((k) => ({ channel: k.channel! }) as Post)));
      for (const key of keys) {
        expect((await notificationsOf(database, key.oldSecretId))['reminder:10m']).toMatchObject({
          status: 'sent',
          attempts: expect.any(Number),
        });
        expect((await secretRow(database, key.oldSecretId)).nextNoticeAt).not.toBeNull();
      }
    } finally {
      await a.stop();
      await b.stop();
    }
  });
});
