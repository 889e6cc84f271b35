import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hourStartMs } from '../../src/keys/usage.ts';
import { decodeEndGraceValue } from '../../src/slack/end-grace-value.ts';
import { ids } from '../../src/slack/ids.ts';
import { addUseCounts } from '../../src/store/usage-store.ts';
import { KEY_STRING } from '../slack/harness.ts';
import { HOUR, MINUTE } from '../support/manual-clock.ts';
import { openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import {
  notificationsOf,
  type Post,
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

let era = 0;
async function setup() {
  era += 1;
  const { clock, services, slack } = await schedulerEra(database, era, Date.UTC(2026, 2, 1));
  const logs: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => logs.push(line) });
  return { clock, services, slack, logs, logger };
}

/** Presentations of a secret as the verify path records them: `uses` of them at `at`, `expired` refused. */
function present(secretId: string, at: Date, uses: number, expired = 0) {
  return addUseCounts(database.db, [
    {
      secretId,
      hour: new Date(hourStartMs(at.getTime())),
      uses,
      expiredUses: expired,
      firstUsedAt: at,
      lastUsedAt: at,
    },
  ]);
}

const postTo = (posts: Post[], channel: string | null) => {
  const mine = posts.filter((p) => p.channel === channel);
  expect(mine).toHaveLength(1);
  return mine[0]!;
};
const buttonsOf = (post: Post) =>
  (post.blocks ?? []).flatMap((b) => {
    const accessory = (b as { accessory?: { action_id: string; value: string } }).accessory;
    return accessory ? [accessory] : [];
  });
const noKeyString = (texts: string[], tokens: string[]) => {
  for (const text of texts) {
    expect(text).not.toMatch(KEY_STRING);
    for (const token of tokens) expect(text).not.toContain(token);
  }
};

describe('a reminder says whether the old key is still used', () => {
  it('still used → something depends on it; idle for an hour or never used → safe to end early, with End grace now', async () => {
    const { clock, services, slack, logs, logger } = await setup();
    const start = clock.now();
    const used = await rotatedKey(services, '24h');
    const idle = await rotatedKey(services, '24h');
    const never = await rotatedKey(services, '24h');
    await present(used.oldSecretId, new Date(start.getTime() + 23 * HOUR - 3 * MINUTE), 1204);
    await present(idle.oldSecretId, new Date(start.getTime() + 20 * HOUR + 42 * MINUTE), 7);

    clock.set(new Date(start.getTime() + 23 * HOUR)); // the 1-hour reminder
    await tick(database, clock, slack.poster, { logger });

    const usedPost = postTo(slack.posts, used.channel);
    expect(usedPost.text).toContain('stops working');
    expect(usedPost.text).toContain('Still in use:* 1\u00a0204 calls in the last hour, the last 3 min ago');
    expect(usedPost.text).toContain('Something still depends on it');
    expect(buttonsOf(usedPost)).toEqual([]);

    const idlePost = postTo(slack.posts, idle.channel);
    const lastIdleUse = Date.UTC(2026, 2, 1) / 1000 + era * 30 * 24 * 3600 + 20 * 3600 + 42 * 60;
    expect(idlePost.text).toContain(`Not used since <!date^${lastIdleUse}^`);
    expect(idlePost.text).toContain('(2 hours 18 minutes): it looks safe to end the grace period early');

    const neverPost = postTo(slack.posts, never.channel);
    expect(neverPost.text).toContain('Never used: it looks safe to end the grace period early');

    for (const [post, key] of [
      [idlePost, idle],
      [neverPost, never],
    ] as const) {
      const [button] = buttonsOf(post);
      expect(button).toMatchObject({ action_id: ids.home.endGrace, style: 'danger' });
      const current = (await services.showKey({ name: key.name })).current!.id;
      expect(decodeEndGraceValue(button!.value)).toEqual({
        keyId: (await services.showKey({ name: key.name })).id,
        seen: { currentSecretId: current, oldSecretIds: [key.oldSecretId] },
      });
    }
    noKeyString(
      [...slack.posts.map((p) => JSON.stringify(p)), ...logs],
      [used, idle, never].flatMap((k) => [k.token, k.oldToken]),
    );
  });
});

describe('the expiry alert says whether anything still depended on the old key', () => {
  it('used in the last hour → something is failing now; idle → nothing should notice; never used → nothing should notice', async () => {
    const { clock, services, slack } = await setup();
    const start = clock.now();
    const used = await rotatedKey(services, '24h');
    const idle = await rotatedKey(services, '24h');
    const never = await rotatedKey(services, '24h');
    await present(used.oldSecretId, new Date(start.getTime() + 24 * HOUR - 5 * MINUTE), 50);
    await present(idle.oldSecretId, new Date(start.getTime() + 20 * HOUR), 7);

    clock.set(new Date(start.getTime() + 24 * HOUR));
    await tick(database, clock, slack.poster);

    const usedPost = postTo(slack.posts, used.channel);
    expect(postKind(usedPost)).toBe('expired');
    expect(usedPost.text).toContain('It was still in use:* 50 calls in the last hour, the last 5 min ago');
    expect(usedPost.text).toContain('Something that depended on it is failing now');
    const idlePost = postTo(slack.posts, idle.channel);
    expect(idlePost.text).toContain('Not used since');
    expect(idlePost.text).toContain('(4 hours): nothing should notice');
    expect(postTo(slack.posts, never.channel).text).toContain('It was never used: nothing should notice');
    // The grace period is over: nothing to end early.
    for (const post of slack.posts) expect(buttonsOf(post)).toEqual([]);
  });
});

describe('after expiry, a key still presented is a client that broke', () => {
  it('alerts the channel once, 10 minutes after the first refused presentation, with how often and when; never for a key not presented; not again after a restart', async () => {
    const { clock, services, slack, logs, logger } = await setup();
    const start = clock.now();
    const broken = await rotatedKey(services, '24h');
    const quiet = await rotatedKey(services, '24h');
    const expiry = start.getTime() + 24 * HOUR;
    const at = (ms: number) => new Date(expiry + ms);

    clock.set(at(0));
    await tick(database, clock, slack.poster, { logger });
    expect(slack.posts.map(postKind)).toEqual(['expired', 'expired']);

    // A client still sends the old key two hours later, and again a few minutes after that.
    await present(broken.oldSecretId, at(2 * HOUR), 3, 3);
    await present(broken.oldSecretId, at(2 * HOUR + 4 * MINUTE), 2, 2);
    clock.set(at(2 * HOUR + 5 * MINUTE));
    await tick(database, clock, slack.poster, { logger });
    expect(slack.posts).toHaveLength(2); // the timer is running

    clock.set(at(2 * HOUR + 10 * MINUTE));
    await tick(database, clock, slack.poster, { logger });
    expect(slack.posts).toHaveLength(3);
    const alert = slack.posts[2]!;
    expect(alert.channel).toBe(broken.channel);
    expect(postKind(alert)).toBe('used_after_expiry');
    expect(alert.text).toContain(`Old key of ${broken.name} is still sent after it expired`);
    expect(alert.text).toContain('presented 5 times since');
    expect(alert.text).toContain(`first <!date^${at(2 * HOUR).getTime() / 1000}^`);
    expect(alert.text).toContain(`last <!date^${at(2 * HOUR + 4 * MINUTE).getTime() / 1000}^`);
    expect(alert.text).toContain('deploy the new key there');
    expect((await notificationsOf(database, broken.oldSecretId)).used_after_expiry).toMatchObject({
      status: 'sent',
    });
    expect((await secretRow(database, broken.oldSecretId)).retiredAt).not.toBeNull();

    // A restarted scheduler (another instance) later in the day, and after the watch: nothing more.
    await present(broken.oldSecretId, at(3 * HOUR), 9, 9);
    for (const later of [3 * HOUR + 15 * MINUTE, 24 * HOUR + MINUTE]) {
      clock.set(at(later));
      await tick(database, clock, slack.poster, { instanceId: 'restarted', logger });
    }
    // The quiet key was watched for 24 hours, then retired; a presentation after that alerts nobody.
    expect((await secretRow(database, quiet.oldSecretId)).retiredAt).not.toBeNull();
    await present(quiet.oldSecretId, at(25 * HOUR), 1, 1);
    clock.set(at(25 * HOUR + 15 * MINUTE));
    await tick(database, clock, slack.poster, { instanceId: 'restarted', logger });
    expect(slack.posts).toHaveLength(3);
    expect(await notificationsOf(database, quiet.oldSecretId)).not.toHaveProperty('used_after_expiry');
    noKeyString(
      [...slack.posts.map((p) => JSON.stringify(p)), ...logs],
      [broken, quiet].flatMap((k) => [k.token, k.oldToken]),
    );
  });
});
