import { isNull } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { secrets } from '../../db/schema/index.ts';
import { runCutoverTick } from '../../src/scheduler/cutover-job.ts';
import { UsageCounter } from '../../src/services/usage-counter.ts';
import { buildHomeView } from '../../src/slack/blocks/home-view.ts';
import { decodeEndGraceValue } from '../../src/slack/end-grace-value.ts';
import { ids } from '../../src/slack/ids.ts';
import { CUTOVER_SETTLED } from '../../src/store/cutover-store.ts';
import { addUseCounts } from '../../src/store/usage-store.ts';
import { KEY_STRING, type SlackHarness, settle, startSlackHarness } from '../slack/harness.ts';
import { pressPostedButton } from '../slack/press-posted-button.ts';
import { rotateTestKey } from '../support/fixtures.ts';
import { HOUR, MINUTE } from '../support/manual-clock.ts';
import { openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { cliActor, slackActor } from '../support/test-services.ts';
import { channelId, recordingPoster, rotatedKey, secretRow, silentLogger } from './support.ts';

let database: TestDatabase;
let h: SlackHarness;
beforeAll(async () => {
  database = await openTestDatabase();
  h = await startSlackHarness(database);
});
afterAll(async () => {
  await h.close();
  await database.close();
});

const QUIET = 30 * MINUTE;
const ROTATOR = 'UCUTOVER1';
let era = 0;

/** A stretch of time of the test's own, with every old secret earlier tests left taken off the lists. */
async function freshEra() {
  era += 1;
  await database.db
    .update(secrets)
    .set({ retiredAt: new Date(0) })
    .where(isNull(secrets.retiredAt));
  const start = Date.UTC(2027, 0, 1) + era * 30 * 24 * HOUR;
  h.services.clock.set(new Date(start));
  const slack = recordingPoster(h.services.clock);
  const counter = new UsageCounter();
  /** `times` presentations of a secret at `at` (ms after the era's start), flushed at once. */
  const call = async (secretId: string, atMs: number, times = 1) => {
    const slot = counter.slotFor(secretId);
    for (let i = 0; i < times; i++)
      counter.record(slot, start + atMs, false, '10.0.3.7', 'python-requests/2.31');
    await addUseCounts(database.db, counter.drain());
  };
  /** One cutover tick at `at`, as the REKEY_CRON tick of the process `instanceId` runs it. */
  const tickAt = async (atMs: number, instanceId = 'process-1') => {
    h.services.clock.set(new Date(start + atMs));
    return runCutoverTick({
      db: database.db,
      clock: h.services.clock,
      poster: slack.poster,
      logger: silentLogger,
      instanceId,
      quietAfterMs: QUIET,
      channelIntervalMs: 0,
    });
  };
  return { start, slack, call, tickAt };
}

const currentOf = async (name: string) => (await h.services.showKey({ name })).current!.id;

describe('the cutover notice: every client seems to have moved off an old key', () => {
  it('comes once, REKEY_QUIET_AFTER after the old key’s last call while the new key is in use, to the channel and the rotator', async () => {
    const { slack, call, tickAt } = await freshEra();
    const key = await rotatedKey(h.services, '24h', { actor: slackActor(ROTATOR) });
    const current = await currentOf(key.name);
    // The old key is called every 10 minutes for an hour; the new key all along.
    for (let m = 0; m <= 60; m += 10) {
      await call(key.oldSecretId, m * MINUTE, 5);
      await call(current, m * MINUTE + 1_000, 20);
      await tickAt(m * MINUTE + 2_000);
    }
    await call(current, 80 * MINUTE, 100);
    // Since the old key's last call (60 min): the new key's 20 calls a second later, then these 100.
    await tickAt(89 * MINUTE);
    expect(slack.posts, 'while the old key is still called, or quiet for less than 30 minutes').toEqual([]);

    await tickAt(90 * MINUTE);
    expect(slack.posts.map((p) => p.channel).sort()).toEqual([key.channel, ROTATOR].sort());
    const post = slack.posts.find((p) => p.channel === key.channel)!;
    expect(post.text).toContain(
      `Every client seems to have moved — the old key \`${key.oldDisplay}\` of *${key.name}* has had no calls for 30 minutes, the new key had 120 calls.`,
    );
    expect(slack.posts.find((p) => p.channel === ROTATOR)!.text).toContain('(you rotated it)');
    for (const p of slack.posts) expect(p.text).not.toMatch(KEY_STRING);

    // Not twice: later ticks, another replica, a restarted process.
    await tickAt(91 * MINUTE);
    await tickAt(95 * MINUTE, 'process-2');
    await tickAt(3 * HOUR, 'process-3-after-restart');
    expect(slack.posts).toHaveLength(2);
    expect((await secretRow(database, key.oldSecretId)).cutoverLookAt).toEqual(CUTOVER_SETTLED);
  });

  it('carries End grace now, which ends exactly that old key', async () => {
    const { slack, call, tickAt } = await freshEra();
    const name = `cutover-${era}`;
    const channel = channelId();
    const created = await h.services.createKey({
      name,
      products: ['api'],
      maintainers: [ROTATOR],
      alertChannel: channel,
      actor: cliActor,
    });
    // Two rotations a minute apart: two old keys in grace. Only the first goes quiet.
    const first = await rotateTestKey(h.services, { name }, '24h', slackActor(ROTATOR));
    h.services.clock.advance(MINUTE);
    const second = await rotateTestKey(h.services, { name }, '24h', slackActor(ROTATOR));
    await call(first.oldSecret.id, 2 * MINUTE);
    await call(second.oldSecret.id, 40 * MINUTE);
    await call(second.newSecret.id, 40 * MINUTE);
    await tickAt(45 * MINUTE);
    expect(slack.posts.filter((p) => p.channel === channel)).toHaveLength(1);
    const post = slack.posts.find((p) => p.channel === channel)!;
    expect(post.text).toContain(first.oldSecret.display);
    expect(post.text).not.toContain(second.oldSecret.display);
    const button = (post.blocks as Array<{ accessory?: { action_id: string; value: string } }>)
      .map((b) => b.accessory)
      .find((a) => a?.action_id === ids.home.endGrace)!;
    expect(decodeEndGraceValue(button.value)).toEqual({
      keyId: created.key.id,
      seen: { currentSecretId: second.newSecret.id, oldSecretIds: [first.oldSecret.id] },
    });

    expect((await pressPostedButton(h, ROTATOR, post, ids.home.endGrace, '1700000000.000200')).status).toBe(
      200,
    );
    await h.fake.waitFor((c) => c.method === 'chat.postMessage' && c.params.channel === channel);
    await settle();
    expect(await h.services.verifyKey(created.token)).toEqual({ valid: false, code: 'EXPIRED' });
    expect(await h.services.verifyKey(first.token)).toMatchObject({ valid: true, status: 'expiring' });
    expect(await h.services.verifyKey(second.token)).toMatchObject({ valid: true, status: 'active' });
  });

  it('is not sent for an old key that stops before it has been quiet that long', async () => {
    const { slack, call, tickAt } = await freshEra();
    const key = await rotatedKey(h.services, '1h', { actor: slackActor(ROTATOR) });
    const current = await currentOf(key.name);
    await call(key.oldSecretId, 40 * MINUTE);
    await call(current, 41 * MINUTE);
    for (const m of [45, 59, 61, 75, 120]) {
      await call(current, m * MINUTE - 1_000);
      await tickAt(m * MINUTE);
    }
    expect(slack.posts).toEqual([]);
  });

  it('waits while nothing calls the new key either (a quiet night), and comes once it is called', async () => {
    const { slack, call, tickAt } = await freshEra();
    const key = await rotatedKey(h.services, '24h', { actor: slackActor(ROTATOR) });
    await call(key.oldSecretId, 10 * MINUTE);
    await tickAt(50 * MINUTE);
    await tickAt(52 * MINUTE);
    expect(slack.posts).toEqual([]);
    await call(await currentOf(key.name), 53 * MINUTE, 3);
    // Looked at again every 5 minutes while the old key is quiet.
    await tickAt(55 * MINUTE);
    expect(slack.posts.map((p) => p.channel).sort()).toEqual([key.channel, ROTATOR].sort());
    expect(slack.posts[0]!.text).toContain('has had no calls for 45 minutes, the new key had 3 calls.');
  });

  it('is not sent for an old key nothing called since its rotation', async () => {
    const { slack, call, tickAt } = await freshEra();
    const key = await rotatedKey(h.services, '24h', { actor: slackActor(ROTATOR) });
    // Called before the rotation only.
    await call(key.oldSecretId, -5 * MINUTE);
    const current = await currentOf(key.name);
    for (const m of [10, 40, 70, 100]) {
      await call(current, m * MINUTE);
      await tickAt(m * MINUTE + 1_000);
    }
    expect(slack.posts).toEqual([]);
  });

  it('an old key called again after the notice says so on its card', async () => {
    const { slack, call, tickAt, start } = await freshEra();
    const key = await rotatedKey(h.services, '24h', { actor: slackActor(ROTATOR) });
    await call(key.oldSecretId, 5 * MINUTE);
    await call(await currentOf(key.name), 34 * MINUTE);
    await tickAt(35 * MINUTE);
    expect(slack.posts).toHaveLength(2);
    const oldKeyCard = async () => {
      const home = await h.services.homeOf(ROTATOR);
      const blocks = buildHomeView({ ...home, page: 0 }).blocks;
      return JSON.stringify(blocks.filter((b) => JSON.stringify(b).includes(key.oldDisplay)));
    };
    expect(await oldKeyCard()).not.toContain('Used again');
    await call(key.oldSecretId, 50 * MINUTE);
    h.services.clock.set(new Date(start + 52 * MINUTE));
    expect(await oldKeyCard()).toContain('*Used again* 2 min ago, after rekey said every client had moved');
    // And no second notice for it.
    await tickAt(2 * HOUR);
    expect(slack.posts).toHaveLength(2);
  });
});
