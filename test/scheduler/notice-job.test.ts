import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Delay } from '../../src/keys/delay.ts';
import { registerInstance } from '../../src/services/instance-liveness.ts';
import { claimDueNotices } from '../../src/services/notify-expiring.ts';
import { HOUR, MINUTE } from '../support/manual-clock.ts';
import { openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { slackActor } from '../support/test-services.ts';
import {
  DEFAULT_OFFSETS,
  foundDead,
  notificationsOf,
  postKind,
  rotatedKey,
  schedulerEra,
  secretRow,
  tick,
} from './support.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database.close());

/** Each test gets its own time far from the others, so their secrets never fall due together. */
let era = 0;
async function setup() {
  era += 1;
  return schedulerEra(database, era, Date.UTC(2026, 0, 1));
}

describe('the reminder schedule, ticking every 10 minutes through the whole grace period', () => {
  it('reminds at each offset shorter than the grace period, then alerts the channel once', async () => {
    const { clock, services, slack, poster } = await setup();
    const start = clock.now().getTime();
    const delays: Delay[] = ['now', '1h', '3h', '24h', '48h', '72h'];
    const keys = new Map<Delay, Awaited<ReturnType<typeof rotatedKey>>>();
    for (const delay of delays)
      keys.set(delay, await rotatedKey(services, delay, { actor: slackActor('UROTATOR') }));

    for (let t = start; t <= start + 73 * HOUR; t += 10 * MINUTE) {
      clock.set(new Date(t));
      await tick(database, clock, poster);
    }
    // Each expired key is watched for refused presentations for 24 hours, then retired.
    clock.set(new Date(start + 97 * HOUR));
    await tick(database, clock, poster);

    const expected: Record<Delay, number[]> = {
      now: [],
      '1h': [10 * MINUTE],
      '3h': [HOUR, 10 * MINUTE],
      '24h': [HOUR, 10 * MINUTE],
      '48h': [24 * HOUR, HOUR, 10 * MINUTE],
      '72h': [24 * HOUR, HOUR, 10 * MINUTE],
    };
    for (const delay of delays) {
      const key = keys.get(delay)!;
      const channelPosts = slack.posts.filter((p) => p.channel === key.channel);
      const expiry = key.expiresAt.getTime();
      expect(
        channelPosts.map((p) => [postKind(p), expiry - p.at.getTime()]),
        `channel posts for ${delay}`,
      ).toEqual([...expected[delay].map((o) => ['reminder', o]), ['expired', 0]]);
      for (const p of channelPosts) expect(p.text).toContain(key.oldDisplay);
      expect((await secretRow(database, key.oldSecretId)).retiredAt, `${delay} retired`).not.toBeNull();
    }
    // The rotator (a Slack rotation) gets every reminder in a DM, but not the channel's expiry alert.
    const dms = slack.posts.filter((p) => p.channel === 'UROTATOR');
    expect(dms.every((p) => postKind(p) === 'reminder')).toBe(true);
    // No two of these reminders fall on the same tick, so each is its own DM.
    expect(dms).toHaveLength(Object.values(expected).flat().length);
    for (const p of slack.posts) expect(p.text).not.toMatch(/rk_live_[0-9A-Za-z]{38}/);
  });
});

describe('exactly once, whatever the ticks do', () => {
  it('gives a `now` rotation only the expiry alert, and only once', async () => {
    const { clock, services, slack, poster } = await setup();
    const key = await rotatedKey(services, 'now', { actor: slackActor('UNOW1') });
    for (let i = 0; i < 3; i++) {
      await tick(database, clock, poster);
      clock.advance(MINUTE);
    }
    expect(slack.posts.map((p) => [p.channel, postKind(p)])).toEqual([[key.channel, 'expired']]);
    expect(Object.keys(await notificationsOf(database, key.oldSecretId))).toEqual(['expired']);
  });

  it('after a 2-hour outage sends only the latest reminder still meaningful', async () => {
    const { clock, services, slack, poster } = await setup();
    const key = await rotatedKey(services, '24h');
    const expiry = key.expiresAt.getTime();
    clock.set(new Date(expiry - 2 * HOUR - 5 * MINUTE));
    await tick(database, clock, poster);
    expect(slack.posts).toHaveLength(0);
    // Down from expiry-2h05 to expiry-5m: both the 1h and the 10m moments passed unseen.
    clock.set(new Date(expiry - 5 * MINUTE));
    await tick(database, clock, poster);
    expect(slack.posts.map(postKind)).toEqual(['reminder']);
    expect(slack.posts[0]!.text).toContain('in 5 minutes');
    const rows = await notificationsOf(database, key.oldSecretId);
    expect(rows['reminder:1h']?.status).toBe('skipped');
    expect(rows['reminder:10m']?.status).toBe('sent');
    clock.set(new Date(expiry));
    await tick(database, clock, poster);
    expect(slack.posts.map(postKind)).toEqual(['reminder', 'expired']);
  });

  it('after a 2-hour outage across the expiry sends the alert once and no reminder', async () => {
    const { clock, services, slack, poster } = await setup();
    const key = await rotatedKey(services, '3h');
    const expiry = key.expiresAt.getTime();
    clock.set(new Date(expiry - 70 * MINUTE));
    await tick(database, clock, poster);
    clock.set(new Date(expiry + 50 * MINUTE));
    await tick(database, clock, poster);
    clock.advance(MINUTE);
    await tick(database, clock, poster);
    expect(slack.posts.map(postKind)).toEqual(['expired']);
    const rows = await notificationsOf(database, key.oldSecretId);
    expect(rows['reminder:1h']?.status).toBe('skipped');
    expect(rows['reminder:10m']?.status).toBe('skipped');
    expect(rows.expired?.status).toBe('sent');
    // Watched for refused presentations for a day after the expiry, then retired.
    expect((await secretRow(database, key.oldSecretId)).nextNoticeAt).toEqual(new Date(expiry + 55 * MINUTE));
    clock.set(new Date(expiry + 24 * HOUR));
    await tick(database, clock, poster);
    expect(slack.posts.map(postKind)).toEqual(['expired']);
    expect((await secretRow(database, key.oldSecretId)).retiredAt).toEqual(new Date(expiry + 24 * HOUR));
  });

  it('retries a Slack 500 on the next tick and delivers it once', async () => {
    const { clock, services, slack, poster } = await setup();
    const key = await rotatedKey(services, '1h');
    clock.set(new Date(key.expiresAt.getTime() - 10 * MINUTE));
    slack.failOnce();
    const first = await tick(database, clock, poster);
    expect(first).toMatchObject({ claimed: 1, sent: 0, failed: 1 });
    expect(slack.posts).toHaveLength(0);
    const failed = (await notificationsOf(database, key.oldSecretId))['reminder:10m']!;
    expect(failed).toMatchObject({ status: 'claimed', claimedAt: null, attempts: 1 });
    expect(failed.lastError).toContain('500');

    clock.advance(MINUTE);
    expect(await tick(database, clock, poster)).toMatchObject({ sent: 1, failed: 0 });
    clock.advance(MINUTE);
    await tick(database, clock, poster);
    expect(slack.posts.map((p) => p.channel)).toEqual([key.channel]);
    expect((await notificationsOf(database, key.oldSecretId))['reminder:10m']).toMatchObject({
      status: 'sent',
      attempts: 2,
      lastError: null,
    });
  });

  it('backs off a channel that keeps refusing, without giving up or delaying the next notice', async () => {
    const { clock, services, slack, poster } = await setup();
    const key = await rotatedKey(services, '3h');
    const expiry = key.expiresAt.getTime();
    const start = expiry - HOUR;
    slack.refuse((channel) => channel === key.channel);

    // Ticking every minute for 45 minutes with the channel archived: the first retries come on the
    // next ticks, then the waits double (1, 2, 4, 8, 16 min) instead of asking Slack 45 times.
    for (let t = start; t < start + 45 * MINUTE; t += MINUTE) {
      clock.set(new Date(t));
      await tick(database, clock, poster);
    }
    const offsets = slack.calls.map((c) => (c.at.getTime() - start) / MINUTE);
    expect(offsets).toEqual([0, 1, 2, 3, 5, 9, 17, 33]);
    const refused = (await notificationsOf(database, key.oldSecretId))['reminder:1h']!;
    expect(refused).toMatchObject({ status: 'claimed', attempts: 8 });
    expect(refused.lastError).toContain('is_archived');

    // The 10-minute reminder is due at expiry − 10 min; the 1h reminder's next wait (32 min) must not
    // hold it back: it is attempted on that very tick.
    for (let t = start + 45 * MINUTE; t <= expiry - 10 * MINUTE; t += MINUTE) {
      clock.set(new Date(t));
      await tick(database, clock, poster);
    }
    expect(slack.calls.at(-1)!.at).toEqual(new Date(expiry - 10 * MINUTE));

    // Someone unarchives the channel: the next attempt delivers, once.
    slack.refuse(null);
    clock.advance(MINUTE);
    await tick(database, clock, poster);
    clock.advance(MINUTE);
    await tick(database, clock, poster);
    expect(slack.posts.map((p) => p.channel)).toEqual([key.channel]);
    expect((await notificationsOf(database, key.oldSecretId))['reminder:10m']?.status).toBe('sent');
  });

  it('when only the DM failed, retries only the DM: the channel hears it once', async () => {
    const { clock, services, slack, poster } = await setup();
    const key = await rotatedKey(services, '3h', { actor: slackActor('UPARTIAL') });
    clock.set(new Date(key.expiresAt.getTime() - HOUR));
    slack.failOnce((channel) => channel === 'UPARTIAL');
    await tick(database, clock, poster);
    clock.advance(MINUTE);
    await tick(database, clock, poster);
    expect(slack.posts.map((p) => p.channel).sort()).toEqual([key.channel, 'UPARTIAL'].sort());
    expect((await notificationsOf(database, key.oldSecretId))['reminder:1h']?.status).toBe('sent');
  });

  it('leaves a claim to its live holder, and takes it over the moment the holder is found dead', async () => {
    const { clock, services, slack, poster } = await setup();
    const key = await rotatedKey(services, '1h');
    clock.set(new Date(key.expiresAt.getTime() - 10 * MINUTE));
    // The process that will die: it claimed (committed) and never got to send or record anything.
    await registerInstance({ db: database.db }, 'dead');
    const dead = await claimDueNotices(
      { db: database.db },
      { now: clock.now(), offsets: DEFAULT_OFFSETS, instanceId: 'dead', limit: 10 },
    );
    expect(dead.claimed.map((c) => c.kind)).toEqual(['reminder:10m']);

    // Alive as far as anyone knows: however far the clock moves, nobody else sends it.
    clock.advance(5 * MINUTE);
    expect(await tick(database, clock, poster)).toMatchObject({ claimed: 0 });
    expect(slack.posts).toHaveLength(0);

    // Its heartbeats stopped: the next heartbeat of another instance finds it dead, which gives the
    // claim back and makes the secret due at once, without moving the clock.
    expect(await foundDead(database, 'dead')).toEqual(['dead']);
    expect((await secretRow(database, key.oldSecretId)).nextNoticeAt).toBeNull();
    expect(await tick(database, clock, poster)).toMatchObject({ claimed: 1, sent: 1 });
    expect(slack.posts).toHaveLength(1);
    expect((await notificationsOf(database, key.oldSecretId))['reminder:10m']).toMatchObject({
      status: 'sent',
      claimedBy: null,
      attempts: 2,
    });
  });

  it('re-plans when the grace period is ended early: the alert goes out on the next tick', async () => {
    const { clock, services, slack, poster } = await setup();
    const key = await rotatedKey(services, '72h', { actor: slackActor('UMAINT1') });
    await tick(database, clock, poster);
    expect((await secretRow(database, key.oldSecretId)).nextNoticeAt).toEqual(
      new Date(key.expiresAt.getTime() - 24 * HOUR),
    );
    clock.advance(MINUTE);
    await services.endGrace({ key: { name: key.name }, actor: slackActor('UMAINT1'), acknowledged: true });
    expect((await secretRow(database, key.oldSecretId)).nextNoticeAt).toBeNull();
    clock.advance(MINUTE);
    await tick(database, clock, poster);
    expect(slack.posts.map(postKind)).toEqual(['expired']);
  });

  it('groups keys due together into one message per channel', async () => {
    const { clock, services, slack, poster } = await setup();
    const a = await rotatedKey(services, '1h', { channel: 'CSHARED1' });
    const b = await rotatedKey(services, '1h', { channel: 'CSHARED1' });
    clock.set(new Date(a.expiresAt.getTime() - 10 * MINUTE));
    await tick(database, clock, poster);
    expect(slack.posts).toHaveLength(1);
    expect(slack.posts[0]!.text).toContain(a.oldDisplay);
    expect(slack.posts[0]!.text).toContain(b.oldDisplay);
  });

  it('a tick with nothing due reads nothing and changes nothing', async () => {
    const { clock, slack, poster } = await setup();
    expect(await tick(database, clock, poster)).toMatchObject({ batches: 0, scanned: 0, claimed: 0 });
    expect(slack.posts).toHaveLength(0);
  });
});
