import { isNull } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { secrets } from '../../db/schema/index.ts';
import { createNoticeClient } from '../../src/scheduler/notice-client.ts';
import type { NoticeTiming } from '../../src/scheduler/notice-timing.ts';
import type { SlackPoster } from '../../src/scheduler/slack-poster.ts';
import { type FakeSlack, startFakeSlack } from '../fake-slack/index.ts';
import { failableDb } from '../slack/harness.ts';
import { HOUR, MINUTE, manualClock } from '../support/manual-clock.ts';
import { openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { slackActor, testServices } from '../support/test-services.ts';
import { foundDead, notificationsOf, recordingPoster, rotatedKey, silentLogger, tick } from './support.ts';

const BOT_TOKEN = 'xoxb-notice-delivery';

let database: TestDatabase;
let fake: FakeSlack;
beforeAll(async () => {
  database = await openTestDatabase();
  fake = await startFakeSlack({ botToken: BOT_TOKEN });
});
afterAll(async () => {
  await fake.close();
  await database.close();
});

/** Each test gets its own time far from the others, so their secrets never fall due together. */
let era = 0;
async function setup() {
  era += 1;
  await database.db
    .update(secrets)
    .set({ retiredAt: new Date(0) })
    .where(isNull(secrets.retiredAt));
  const clock = manualClock(new Date(Date.UTC(2028, 0, 1) + era * 30 * 24 * HOUR));
  return { clock, services: testServices(database, { clock }) };
}

/** The scheduler's real client against the fake, with bounds short enough for a test. */
function noticeClient(timing: Pick<NoticeTiming, 'callTimeoutMs' | 'retries' | 'backoffMaxMs'>) {
  return createNoticeClient({ token: BOT_TOKEN, slackApiUrl: fake.apiUrl, logger: silentLogger, timing });
}

const postsOf = (display: string) =>
  fake.callsTo('chat.postMessage').filter((c) => String(c.params.text).includes(display));

describe('a crash in the middle of a round', () => {
  it('resends only to the recipients whose post had not succeeded: the channel hears it once', async () => {
    const { clock, services } = await setup();
    const key = await rotatedKey(services, '3h', { actor: slackActor('UCRASHED') });
    clock.set(new Date(key.expiresAt.getTime() - HOUR));
    const slack = recordingPoster(clock);
    const failable = failableDb(database.db);
    // The channel's post succeeds; during the DM's post the process "dies": from then on nothing it
    // does reaches the database, so the round is never recorded as a whole.
    const dying: SlackPoster = {
      chat: {
        postMessage: async (args) => {
          if (args.channel === 'UCRASHED') {
            failable.fail(true);
            throw new Error('process killed');
          }
          return slack.poster.chat.postMessage(args);
        },
      },
    };
    await expect(
      tick({ ...database, db: failable.db }, clock, dying, { instanceId: 'dying', concurrency: 1 }),
    ).rejects.toThrow();
    failable.fail(false);
    expect(slack.posts.map((p) => p.channel)).toEqual([key.channel]);

    // Once the dead process is found dead, another instance takes the claim over.
    await foundDead(database, 'dying');
    clock.advance(MINUTE);
    expect(await tick(database, clock, slack.poster, { instanceId: 'survivor' })).toMatchObject({
      claimed: 1,
      sent: 1,
    });
    expect(slack.posts.map((p) => p.channel)).toEqual([key.channel, 'UCRASHED']);
    expect((await notificationsOf(database, key.oldSecretId))['reminder:1h']).toMatchObject({
      status: 'sent',
      deliveredTo: [key.channel, 'UCRASHED'],
    });
  });
});

describe('Slack answering 429', () => {
  it('waits out a short Retry-After itself and posts the notice once', async () => {
    const { clock, services } = await setup();
    const key = await rotatedKey(services, 'now');
    fake.fail('chat.postMessage', { status: 429, retryAfter: 1 });
    const poster = noticeClient({ callTimeoutMs: 2000, retries: 0, backoffMaxMs: 0 });
    expect(await tick(database, clock, poster)).toMatchObject({ sent: 1, failed: 0 });
    expect(postsOf(key.oldDisplay).map((c) => c.outcome)).toEqual(['http_429', 'ok']);
  });

  it('gives the notice back for the next tick when Retry-After is longer than its budget', async () => {
    const { clock, services } = await setup();
    const key = await rotatedKey(services, 'now');
    // An hour: a tick that waited for it would hold every claim of its round for that long.
    fake.fail('chat.postMessage', { status: 429, retryAfter: 3600 });
    const poster = noticeClient({ callTimeoutMs: 2000, retries: 0, backoffMaxMs: 0 });
    expect(await tick(database, clock, poster)).toMatchObject({ sent: 0, failed: 1 });
    expect((await notificationsOf(database, key.oldSecretId)).expired).toMatchObject({
      status: 'claimed',
      claimedAt: null,
      lastError: expect.stringMatching(/^C\w+: .*rate-limit.*3600 seconds/),
    });
    clock.advance(MINUTE);
    expect(await tick(database, clock, poster)).toMatchObject({ sent: 1 });
    expect(postsOf(key.oldDisplay).map((c) => c.outcome)).toEqual(['http_429', 'ok']);
  });
});

describe('Slack not answering', () => {
  it('gives up on the call at its timeout instead of holding the claim, and the next tick sends it', async () => {
    const { clock, services } = await setup();
    const key = await rotatedKey(services, 'now');
    fake.answerSlowly('chat.postMessage', 5_000);
    const poster = noticeClient({ callTimeoutMs: 200, retries: 1, backoffMaxMs: 100 });
    try {
      expect(await tick(database, clock, poster)).toMatchObject({ sent: 0, failed: 1 });
    } finally {
      fake.answerSlowly('chat.postMessage', 0);
    }
    // Both attempts reached Slack and neither answer was awaited past the timeout.
    expect(postsOf(key.oldDisplay)).toHaveLength(2);
    expect((await notificationsOf(database, key.oldSecretId)).expired).toMatchObject({
      status: 'claimed',
      claimedAt: null,
    });
    clock.advance(MINUTE);
    expect(await tick(database, clock, poster)).toMatchObject({ sent: 1 });
  });
});
