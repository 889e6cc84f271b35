import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keys } from '../../db/schema/index.ts';
import { CANARY_QUIET_MS } from '../../src/keys/canary-alarm.ts';
import { runCanaryAlarmRound } from '../../src/scheduler/canary-alarm-job.ts';
import { NOTICE_SOURCES } from '../../src/scheduler/index.ts';
import type { SlackPoster } from '../../src/scheduler/slack-poster.ts';
import { startScheduler } from '../../src/scheduler/start-scheduler.ts';
import {
  type CanaryTryView,
  claimCanaryAlarms,
  completeCanaryAlarms,
} from '../../src/services/canary-alarms.ts';
import { type AskerDetails, createCanaryTryRecorder } from '../../src/services/canary-tries.ts';
import { registerInstance } from '../../src/services/instance-liveness.ts';
import { buildCanaryAlarmMessage } from '../../src/slack/blocks/canary-alarm-message.ts';
import { type ManualClock, MINUTE, manualClock } from '../support/manual-clock.ts';
import { onRealPostgres, openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { cliActor, testServices, uniqueName } from '../support/test-services.ts';
import { channelId, foundDead, type Post, recordingPoster, silentLogger } from './support.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database.close());

const GATEWAY: AskerDetails = {
  via: 'authorize',
  clientIp: '203.0.113.7',
  userAgent: 'curl/8.5.0',
  uri: '/admin/export',
  method: 'GET',
  askedBy: '#1 (3f2a9c1e)',
};

/** A canary with its own alert channel and maintainer, a clock, a Slack stand-in and a way to try it. */
async function setup(start = '2026-06-01T09:00:00.000Z') {
  const clock = manualClock(start);
  const services = testServices(database, { clock });
  const channel = channelId();
  const maintainer = `U${channel.slice(1)}`;
  const { key } = await services.createKey({
    name: uniqueName('decoy'),
    alertChannel: channel,
    maintainers: [maintainer],
    canary: true,
    actor: cliActor,
  });
  const slack = recordingPoster(clock);
  const recorder = createCanaryTryRecorder({
    db: database.db,
    logger: silentLogger,
    describe: (asker) => asker as AskerDetails,
  });
  /** `n` presentations now, written as a replica's queue writes them. */
  const tryIt = async (n = 1, asker: AskerDetails = GATEWAY) => {
    for (let i = 0; i < n; i++) recorder.record(key.id, clock.now().getTime(), asker);
    await recorder.flush();
  };
  return { clock, services, key, channel, maintainer, slack, tryIt };
}

function round(clock: ManualClock, poster: SlackPoster, instanceId = 'test-instance') {
  return runCanaryAlarmRound({
    db: database.db,
    clock,
    poster,
    logger: silentLogger,
    instanceId,
    channelIntervalMs: 0,
  });
}

const textOf = (post: Post) => `${post.text}\n${JSON.stringify(post.blocks)}`;

describe('a canary tried raises an alarm', () => {
  it('the first try: one alarm to its alert channel and each maintainer, naming when, the client, the request and who asked', async () => {
    const { clock, key, channel, maintainer, slack, tryIt } = await setup();
    await tryIt();
    await round(clock, slack.poster);

    expect(slack.posts.map((p) => p.channel).sort()).toEqual([channel, maintainer].sort());
    for (const post of slack.posts) {
      expect(post.text).toBe(`Canary key ${key.name} was tried`);
      const text = textOf(post);
      expect(text).toContain('203.0.113.7');
      expect(text).toContain('`GET /admin/export`');
      expect(text).toContain('curl/8.5.0');
      expect(text).toContain('#1 (3f2a9c1e)');
      expect(text).toContain(`<!date^${Math.floor(clock.now().getTime() / 1000)}^`);
      expect(text).toContain(key.current!.display);
    }
    // Told once: another round finds nothing.
    await round(clock, slack.poster);
    expect(slack.posts).toHaveLength(2);
  });

  it('ten more tries: no second alarm within 10 minutes, then one that says "10 more"', async () => {
    const { clock, channel, slack, tryIt } = await setup();
    await tryIt();
    await round(clock, slack.poster);
    const first = slack.posts.length;

    clock.advance(MINUTE);
    await tryIt(10, { ...GATEWAY, clientIp: '198.51.100.23', uri: '/v2/orders' });
    await round(clock, slack.poster);
    clock.advance(CANARY_QUIET_MS - MINUTE - 1000);
    await round(clock, slack.poster);
    expect(slack.posts).toHaveLength(first);

    clock.advance(1000);
    await round(clock, slack.poster);
    const second = slack.posts.slice(first).find((p) => p.channel === channel)!;
    expect(second.text).toMatch(/: 10 more tries since the last alarm$/);
    expect(textOf(second)).toContain('*10 more tries* since the last alarm');
    expect(textOf(second)).toContain('198.51.100.23');
    expect(slack.posts.slice(first)).toHaveLength(2);

    // Nothing more came: the quiet window ends with nothing to say.
    clock.advance(CANARY_QUIET_MS);
    await round(clock, slack.poster);
    expect(slack.posts).toHaveLength(first + 2);
  });

  it('a try after a quiet spell is alarmed at once, not held back by an old window', async () => {
    const { clock, slack, tryIt } = await setup();
    await tryIt();
    await round(clock, slack.poster);
    clock.advance(3 * CANARY_QUIET_MS);
    await tryIt();
    await round(clock, slack.poster);
    expect(slack.posts.filter((p) => p.text.includes('1 more try since the last alarm'))).toHaveLength(2);
  });

  it('a failed post is retried, and whoever already got it is not told twice', async () => {
    const { clock, channel, maintainer, slack, tryIt } = await setup();
    await tryIt();
    slack.failOnce((to) => to === channel);
    await round(clock, slack.poster);
    expect(slack.posts.map((p) => p.channel)).toEqual([maintainer]);
    clock.advance(MINUTE);
    await round(clock, slack.poster);
    expect(slack.posts.map((p) => p.channel)).toEqual([maintainer, channel]);
  });

  it('a canary reported as leaked raises the same alarm, saying where it was seen', async () => {
    const { clock, services, key, channel, slack } = await setup();
    const token = await tokenOfNewCanary(services, key.alertChannel!);
    await services.reportLeak({
      token: token.token,
      place: {
        kind: 'slack_message',
        channel: 'CGENERAL',
        messageTs: '1717232400.000100',
        postedBy: 'UOSCAR',
      },
    });
    await round(clock, slack.poster);
    const post = slack.posts.find((p) => p.channel === channel && p.text.includes(token.name))!;
    expect(textOf(post)).toContain('posted in <#CGENERAL> by <@UOSCAR>');
  });

  it('is delivered within seconds without waiting for a sweep: the try’s commit wakes the delivery', async () => {
    const { clock, key, channel, slack, tryIt } = await setup();
    // The app's registration of the canary source, in a scheduler whose cron fires once a year and whose
    // sweep waits ten minutes: only the wake-up announced by the try's commit can deliver it in time.
    const canary = NOTICE_SOURCES.find((source) => source.name === 'canary')!;
    expect(canary.cadence).toBe('prompt');
    const alarms = startScheduler('0 0 1 1 *', {
      db: database.db,
      database,
      clock,
      poster: slack.poster,
      offsets: [],
      policyOffsets: [],
      digestCron: '0 0 1 1 *',
      sources: [canary],
      logger: silentLogger,
      instanceId: 'woken-instance',
      channelIntervalMs: 0,
      sweepEveryMs: 600_000,
    });
    try {
      await alarms.ready;
      const started = performance.now();
      await tryIt();
      while (!slack.posts.some((p) => p.channel === channel) && performance.now() - started < 5_000) {
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(slack.posts.find((p) => p.channel === channel)?.text).toBe(`Canary key ${key.name} was tried`);
    } finally {
      await alarms.stop();
    }
  });
});

/** A second canary on the same channel, for a test that needs its key string. */
async function tokenOfNewCanary(services: ReturnType<typeof testServices>, channel: string) {
  const name = uniqueName('decoy');
  const { token } = await services.createKey({ name, alertChannel: channel, canary: true, actor: cliActor });
  return { name, token };
}

describe('an alarm whose holder let go of it unsent', () => {
  /** The alarm claimed by `holder`, which then never posts it. */
  async function claimedBy(holder: string) {
    const s = await setup();
    await s.tryIt();
    await registerInstance({ db: database.db }, holder);
    const claim = await claimCanaryAlarms(
      { db: database.db },
      { now: s.clock.now(), instanceId: holder, limit: 10 },
    );
    expect(claim.claimed).toHaveLength(1);
    return { ...s, claim };
  }

  it('goes out from another instance once its holder is found dead, without moving the clock', async () => {
    const { clock, channel, maintainer, slack } = await claimedBy('canary-dead');
    expect(await round(clock, slack.poster)).toMatchObject({ claimed: 0 });
    expect(await foundDead(database, 'canary-dead')).toEqual(['canary-dead']);
    await round(clock, slack.poster);
    expect(slack.posts.map((p) => p.channel).sort()).toEqual([channel, maintainer].sort());
  });

  it('goes out from another instance when a stopping holder gives it back', async () => {
    const { clock, channel, maintainer, slack, claim } = await claimedBy('canary-stopping');
    await completeCanaryAlarms(
      { db: database.db },
      {
        instanceId: 'canary-stopping',
        now: clock.now(),
        results: claim.claimed.map((notice) => ({ notice, reached: [], error: null, givenBack: true })),
      },
    );
    await round(clock, slack.poster);
    expect(slack.posts.map((p) => p.channel).sort()).toEqual([channel, maintainer].sort());
  });
});

describe.runIf(onRealPostgres)('across replicas', () => {
  it('two replicas sweeping together send each alarm once', async () => {
    const { clock, channel, maintainer, slack, tryIt, key } = await setup();
    await tryIt(3);
    await Promise.all([
      round(clock, slack.poster, 'replica-a'),
      round(clock, slack.poster, 'replica-b'),
      round(clock, slack.poster, 'replica-c'),
    ]);
    expect(slack.posts.map((p) => p.channel).sort()).toEqual([channel, maintainer].sort());
    const [row] = await database.db.select().from(keys).where(eq(keys.id, key.id));
    expect(row!.canaryAlarmAt).toEqual(new Date(clock.now().getTime() + CANARY_QUIET_MS));
  });
});

describe('the alarm message', () => {
  const latest = (over: Partial<CanaryTryView>): CanaryTryView => ({
    triedAt: new Date('2026-06-01T09:00:00.000Z'),
    via: 'authorize',
    clientIp: '203.0.113.7',
    userAgent: null,
    uri: null,
    method: null,
    askedBy: null,
    place: null,
    ...over,
  });

  it('quotes whatever the intruder chose, so no mention, link or formatting can be smuggled in', () => {
    const message = buildCanaryAlarmMessage(
      [
        {
          keyName: 'payments-backup',
          display: 'rk_live_AbCd…wxyz',
          dueAt: new Date(),
          tries: 1,
          previousAt: null,
          latest: latest({
            userAgent: '<!channel> `x` *bold* <https://evil.example|click>\nsecond line',
            uri: '/a?<@U123>',
            method: 'GET',
          }),
        },
      ],
      { audience: 'channel' },
    );
    const text = JSON.stringify(message.blocks);
    expect(text).not.toContain('<!channel>');
    expect(text).not.toContain('<https://evil');
    expect(text).not.toContain('<@U123>');
    expect(text).toContain('&lt;!channel&gt;');
    expect(text).not.toContain('\\nsecond line');
  });

  it('says when tries came too fast for their details to be kept', () => {
    const message = buildCanaryAlarmMessage(
      [
        {
          keyName: 'k',
          display: 'rk_live_AbCd…wxyz',
          dueAt: new Date(),
          tries: 4000,
          previousAt: new Date(),
          latest: null,
        },
      ],
      { audience: 'dm' },
    );
    expect(message.text).toBe('Canary key k: 4000 more tries since the last alarm');
    expect(JSON.stringify(message.blocks)).toContain('not kept');
  });
});
