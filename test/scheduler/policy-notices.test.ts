import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rotateTestKey } from '../support/fixtures.ts';
import { HOUR } from '../support/manual-clock.ts';
import { openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import {
  DAY,
  policyEra,
  policyKey,
  policyNotificationsOf,
  policyPostKind,
  policyTick,
  rotateButtons,
} from './policy-support.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database.close());

let era = 0;
const setup = () => policyEra(database, ++era);

describe('rotation policy reminders and the overdue notice', () => {
  it('remind the channel and each maintainer 7 days and 1 day before the due date, then once when overdue', async () => {
    const { clock, services, slack, poster } = await setup();
    const start = clock.now().getTime();
    const key = await policyKey(services, 10);
    expect(key.dueAt.getTime()).toBe(start + 10 * DAY);

    for (let t = start; t <= start + 14 * DAY; t += 6 * HOUR) {
      clock.set(new Date(t));
      await policyTick(database, clock, poster);
    }

    for (const to of [key.channel, ...key.maintainers]) {
      const posts = slack.posts.filter((p) => p.channel === to);
      expect(
        posts.map((p) => [policyPostKind(p), p.at.getTime() - start]),
        `posts to ${to}`,
      ).toEqual([
        ['due in 7 days', 3 * DAY],
        ['due in 1 day', 9 * DAY],
        ['overdue', 10 * DAY],
      ]);
      for (const post of posts) {
        expect(post.text).toContain(key.name);
        expect(rotateButtons(post)).toEqual([{ action_id: 'home_rotate', value: key.id }]);
      }
    }
    expect(
      slack.posts
        .filter((p) => p.channel === key.maintainers[0])
        .every((p) => p.text.includes('you maintain')),
    ).toBe(true);
    for (const p of slack.posts) expect(p.text).not.toMatch(/rk_live_[0-9A-Za-z]{38}/);
    const rows = await policyNotificationsOf(database, key.id);
    expect(rows.map((r) => [r.kind, r.status, r.dueAt?.getTime()]).sort()).toEqual(
      [
        ['policy_due:1d', 'sent', key.dueAt.getTime()],
        ['policy_due:7d', 'sent', key.dueAt.getTime()],
        ['policy_overdue', 'sent', key.dueAt.getTime()],
      ].sort(),
    );
  });

  it('after a two-week outage sends one overdue notice, not three messages, and never again', async () => {
    const { clock, services, slack, poster } = await setup();
    const start = clock.now().getTime();
    const key = await policyKey(services, 10);
    await policyTick(database, clock, poster);
    clock.set(new Date(start + 2 * DAY));
    await policyTick(database, clock, poster);
    // Down from day 2 to day 16: the 7-day and 1-day reminders and the due date all pass unseen.
    clock.set(new Date(start + 16 * DAY));
    await policyTick(database, clock, poster);
    clock.advance(HOUR);
    await policyTick(database, clock, poster);
    clock.advance(30 * DAY);
    await policyTick(database, clock, poster);

    const toChannel = slack.posts.filter((p) => p.channel === key.channel);
    expect(toChannel.map(policyPostKind)).toEqual(['overdue']);
    expect(toChannel[0]!.text).toContain('by 6 days');
    const rows = await policyNotificationsOf(database, key.id);
    expect(Object.fromEntries(rows.map((r) => [r.kind, r.status]))).toEqual({
      'policy_due:7d': 'skipped',
      'policy_due:1d': 'skipped',
      policy_overdue: 'sent',
    });
  });

  it('a rotation moves the due date: what was pending for the old one is cancelled, the new one gets its own', async () => {
    const { clock, services, slack, poster } = await setup();
    const start = clock.now().getTime();
    const key = await policyKey(services, 10);
    clock.set(new Date(start + 3 * DAY));
    await policyTick(database, clock, poster);
    // The 1-day reminder fails (the channel refuses), so it is pending a retry when the key is rotated.
    slack.refuse((channel) => channel === key.channel);
    clock.set(new Date(start + 9 * DAY));
    await policyTick(database, clock, poster);
    slack.refuse(null);
    clock.advance(HOUR);
    await rotateTestKey(services, { name: key.name }, '24h');
    const rotatedAt = clock.now().getTime();
    const before = slack.posts.length;

    for (let t = rotatedAt; t <= rotatedAt + 11 * DAY; t += 6 * HOUR) {
      clock.set(new Date(t));
      await policyTick(database, clock, poster);
    }

    const after = slack.posts.slice(before).filter((p) => p.channel === key.channel);
    expect(after.map((p) => [policyPostKind(p), p.at.getTime() - rotatedAt])).toEqual([
      ['due in 7 days', 3 * DAY],
      ['due in 1 day', 9 * DAY],
      ['overdue', 10 * DAY],
    ]);
    const rows = await policyNotificationsOf(database, key.id);
    const old = rows.filter((r) => r.dueAt?.getTime() === key.dueAt.getTime());
    expect(Object.fromEntries(old.map((r) => [r.kind, r.status]))).toEqual({
      'policy_due:7d': 'sent',
      'policy_due:1d': 'skipped',
    });
    // The maintainers did get that 1-day reminder before the channel refused: only the channel missed it.
    expect(slack.posts.filter((p) => p.channel === key.channel && p.at.getTime() < rotatedAt)).toHaveLength(
      1,
    );
  });

  it('a key without a policy, or whose policy is removed, gets nothing', async () => {
    const { clock, services, slack, poster } = await setup();
    const start = clock.now().getTime();
    const key = await policyKey(services, 10);
    await services.setRotationPolicy({
      key: { id: key.id },
      rotateEveryDays: null,
      actor: { id: 'cli:t', source: 'cli' },
    });
    for (let t = start; t <= start + 20 * DAY; t += DAY) {
      clock.set(new Date(t));
      await policyTick(database, clock, poster);
    }
    expect(slack.posts.filter((p) => p.channel === key.channel)).toEqual([]);
  });

  it('an idle tick costs one statement and sends nothing', async () => {
    const { clock, services, poster } = await setup();
    await policyKey(services, 30);
    await policyTick(database, clock, poster);
    clock.advance(DAY);
    expect(await policyTick(database, clock, poster)).toMatchObject({ batches: 0, claimed: 0, messages: 0 });
  });
});
