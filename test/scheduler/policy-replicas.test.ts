import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPolicyDigest } from '../../src/scheduler/policy-digest-job.ts';
import type { SlackPoster } from '../../src/scheduler/slack-poster.ts';
import type { Database } from '../../src/store/database.ts';
import { openPostgres } from '../../src/store/open-postgres.ts';
import { HOUR } from '../support/manual-clock.ts';
import { onRealPostgres, openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { DAY, policyEra, policyKey, policyNotificationsOf, policyTick } from './policy-support.ts';
import { type Post, silentLogger } from './support.ts';

/** Two replicas on one database: row locks, SKIP LOCKED and unique claims need a real PostgreSQL. */
describe.runIf(onRealPostgres)('on a real PostgreSQL, two replicas', () => {
  let database: TestDatabase;
  const replicas: Database[] = [];
  beforeAll(async () => {
    database = await openTestDatabase();
    for (let i = 0; i < 2; i++) replicas.push(await openPostgres(database.url!, { max: 3 }));
  });
  afterAll(async () => {
    for (const r of replicas) await r.close();
    await database.close();
  });

  /** A poster per replica that records what it posted and yields, so the replicas interleave. */
  function posters() {
    const posts: Post[][] = [[], []];
    const make = (i: number, now: () => Date): SlackPoster => ({
      chat: {
        postMessage: async (args) => {
          await new Promise((resolve) => setTimeout(resolve, 2));
          posts[i]!.push({ channel: args.channel, text: args.text, at: now() });
          return { ok: true };
        },
      },
    });
    return { posts, make };
  }

  it('ticking together through a policy period, they send each reminder and the overdue notice exactly once', async () => {
    const { clock, services } = await policyEra(database, 1);
    const start = clock.now().getTime();
    const keys = [];
    for (let i = 0; i < 30; i++) keys.push(await policyKey(services, 10, `CPOLREP${i % 5}`));
    const { posts, make } = posters();
    for (let t = start; t <= start + 12 * DAY; t += 12 * HOUR) {
      clock.set(new Date(t));
      await Promise.all(
        replicas.map((replica, i) =>
          policyTick(
            replica,
            clock,
            make(i, () => clock.now()),
            { instanceId: `replica-${i}`, batchSize: 4 },
          ),
        ),
      );
    }
    const all = posts.flat();
    // Both replicas did part of the work.
    expect(posts[0]!.length).toBeGreaterThan(0);
    expect(posts[1]!.length).toBeGreaterThan(0);
    for (const key of keys) {
      const toChannel = all
        .filter((p) => p.channel === key.channel && p.text.includes(key.name))
        .sort((a, b) => a.at.getTime() - b.at.getTime());
      // Keys due together share one message per channel, so the times tell which notice each was.
      expect(
        toChannel.map((p) => p.at.getTime() - start),
        key.name,
      ).toEqual([3 * DAY, 9 * DAY, 10 * DAY]);
      expect(toChannel[2]!.text).toContain('overdue');
      const rows = await policyNotificationsOf(database, key.id);
      expect(rows.map((r) => r.status)).toEqual(['sent', 'sent', 'sent']);
    }
  }, 120_000);

  it('firing the weekly digest on both at once posts it once per channel', async () => {
    const { clock, services } = await policyEra(database, 2);
    for (let i = 0; i < 6; i++) await policyKey(services, 3, `CPOLDIG${i % 3}`);
    clock.advance(4 * DAY);
    const { posts, make } = posters();
    await Promise.all(
      replicas.map((replica, i) =>
        runPolicyDigest({
          db: replica.db,
          clock,
          poster: make(i, () => clock.now()),
          logger: silentLogger,
          instanceId: `replica-${i}`,
        }),
      ),
    );
    const channels = posts
      .flat()
      .map((p) => p.channel)
      .filter((c) => c.startsWith('CPOLDIG'))
      .sort();
    expect(channels).toEqual(['CPOLDIG0', 'CPOLDIG1', 'CPOLDIG2']);
  }, 60_000);
});
