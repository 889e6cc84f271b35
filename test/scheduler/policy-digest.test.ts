import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DigestJobDeps,
  retryPolicyDigests,
  runPolicyDigest,
} from '../../src/scheduler/policy-digest-job.ts';
import type { SlackPoster } from '../../src/scheduler/slack-poster.ts';
import { digestWeekOf } from '../../src/services/policy-digest.ts';
import type { Db } from '../../src/store/database.ts';
import { rotateTestKey } from '../support/fixtures.ts';
import { HOUR, type ManualClock, MINUTE } from '../support/manual-clock.ts';
import { openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { cliActor, uniqueName } from '../support/test-services.ts';
import { DAY, policyEra, policyKey, rotateButtons } from './policy-support.ts';
import { channelId, silentLogger } from './support.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database.close());

let era = 100;
const setup = () => policyEra(database, ++era);

function digestDeps(
  db: Db,
  clock: ManualClock,
  poster: SlackPoster,
  instanceId = 'test-instance',
): DigestJobDeps {
  return { db, clock, poster, logger: silentLogger, instanceId };
}

/** The key names a digest lists, in its order (each key's line is a section with a Rotate… button). */
function listedNames(blocks: unknown[] | undefined, names: string[]): string[] {
  return (blocks ?? [])
    .filter((b) => (b as { accessory?: unknown }).accessory)
    .map((b) => names.find((n) => JSON.stringify(b).includes(`*${n}*`)) ?? '?');
}

describe('the weekly digest', () => {
  it('lists exactly its channel’s overdue and due-within-7-days keys, most overdue first; a channel with none gets nothing', async () => {
    const { clock, services, slack, poster } = await setup();
    const alerts = channelId();
    const quiet = channelId();
    const start = clock.now().getTime();
    const overdue = await policyKey(services, 3, alerts);
    const dueSoon = await policyKey(services, 12, alerts);
    const dueLater = await policyKey(services, 30, alerts);
    const farOff = await policyKey(services, 60, quiet);
    const noPolicy = uniqueName('none');
    await services.createKey({ name: noPolicy, alertChannel: alerts, actor: cliActor });
    clock.set(new Date(start + 6 * DAY));

    const report = await runPolicyDigest(digestDeps(database.db, clock, poster));

    // Keys of other tests (their own channels) may be due too; this test's channels are what it checks.
    expect(report.posted).toContain(alerts);
    expect(report.posted).not.toContain(quiet);
    const mine = slack.posts.filter((p) => p.channel === alerts || p.channel === quiet);
    expect(mine.map((p) => p.channel)).toEqual([alerts]);
    const [post] = mine;
    const names = [overdue, dueSoon, dueLater].map((k) => k.name).concat(farOff.name, noPolicy);
    expect(listedNames(post!.blocks, names)).toEqual([overdue.name, dueSoon.name]);
    expect(rotateButtons(post!)).toEqual([
      { action_id: 'home_rotate', value: overdue.id },
      { action_id: 'home_rotate', value: dueSoon.id },
    ]);
    expect(post!.text).toContain('1 overdue · 1 due within 7 days');
    for (const absent of [dueLater.name, farOff.name, noPolicy]) expect(post!.text).not.toContain(absent);
    expect(post!.text).not.toMatch(/rk_live_[0-9A-Za-z]{38}/);
  });

  it('goes out once per channel per week, however often it runs, and again the next week', async () => {
    const { clock, services, slack, poster } = await setup();
    const alerts = channelId();
    const key = await policyKey(services, 20, alerts);
    clock.advance(14 * DAY);
    await runPolicyDigest(digestDeps(database.db, clock, poster));
    await runPolicyDigest(digestDeps(database.db, clock, poster, 'another-replica'));
    clock.advance(HOUR);
    await runPolicyDigest(digestDeps(database.db, clock, poster));
    expect(slack.posts.filter((p) => p.channel === alerts)).toHaveLength(1);

    clock.advance(7 * DAY);
    await runPolicyDigest(digestDeps(database.db, clock, poster));
    expect(slack.posts.filter((p) => p.channel === alerts)).toHaveLength(2);

    // Rotated since: nothing to list, so the following week sends nothing.
    await rotateTestKey(services, { name: key.name }, 'now');
    clock.advance(7 * DAY);
    await runPolicyDigest(digestDeps(database.db, clock, poster));
    expect(slack.posts.filter((p) => p.channel === alerts)).toHaveLength(2);
  });

  it('a failed post is retried on a later tick, once, not given up', async () => {
    const { clock, services, slack, poster } = await setup();
    const alerts = channelId();
    await policyKey(services, 1, alerts);
    clock.advance(2 * DAY);
    slack.failOnce((channel) => channel === alerts);
    // Other tests' channels may have digests due too: only this one's matter here.
    const mine = (r: { posted: string[]; failed: string[] }) => ({
      posted: r.posted.filter((c) => c === alerts),
      failed: r.failed.filter((c) => c === alerts),
    });
    expect(mine(await runPolicyDigest(digestDeps(database.db, clock, poster)))).toEqual({
      posted: [],
      failed: [alerts],
    });

    clock.advance(MINUTE);
    expect(mine(await retryPolicyDigests(digestDeps(database.db, clock, poster)))).toEqual({
      posted: [alerts],
      failed: [],
    });
    clock.advance(MINUTE);
    expect(mine(await retryPolicyDigests(digestDeps(database.db, clock, poster)))).toEqual({
      posted: [],
      failed: [],
    });
    expect(slack.posts.filter((p) => p.channel === alerts)).toHaveLength(1);
  });
});

describe('the weekly digest, sent by the notice engine', () => {
  it('a run cut short by a stopping scheduler leaves the rest of the week’s digests owed: another instance sends them, each once', async () => {
    const { clock, services, slack } = await setup();
    const mine = [channelId(), channelId(), channelId()];
    for (const channel of mine) await policyKey(services, 2, channel);
    clock.advance(3 * DAY);
    // The scheduler is told to stop while its first digest is being posted.
    const stopping = new AbortController();
    const leaving: SlackPoster = {
      chat: {
        postMessage: (args) => {
          stopping.abort();
          return slack.poster.chat.postMessage(args);
        },
      },
    };
    const first = await runPolicyDigest({
      ...digestDeps(database.db, clock, leaving, 'leaving'),
      signal: stopping.signal,
    });
    expect(first.posted).toHaveLength(1);

    await retryPolicyDigests(digestDeps(database.db, clock, slack.poster, 'staying'));
    const posted = slack.posts.filter((p) => mine.includes(p.channel)).map((p) => p.channel);
    expect(posted.sort()).toEqual([...mine].sort());
  });
});

describe('digestWeekOf', () => {
  it('is the Monday (UTC) that starts the week', () => {
    expect(digestWeekOf(new Date('2026-03-02T00:00:00Z'))).toBe('2026-03-02');
    expect(digestWeekOf(new Date('2026-03-08T23:59:59Z'))).toBe('2026-03-02');
    expect(digestWeekOf(new Date('2026-03-09T09:00:00Z'))).toBe('2026-03-09');
  });
});
