import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateToken } from '../../src/keys/token.ts';
import { KeyChanges } from '../../src/services/key-changes.ts';
import type { Database } from '../../src/store/database.ts';
import { createTestKey, rotateTestKey } from '../support/fixtures.ts';
import { manualClock } from '../support/manual-clock.ts';
import { metricValue } from '../support/metric-value.ts';
import { openThroughProxy, type TcpProxy } from '../support/tcp-proxy.ts';
import { onRealPostgres, openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { testServices } from '../support/test-services.ts';
import { until } from '../support/until.ts';
import { type RekeyProcess, spawnRekey } from './rekey-process.ts';
import { postVerify, startVerifyServer } from './verify-server.ts';

const TOKEN = 'filter-replica-token-0123456789abcdef';

/**
 * Asks `url` for `key` from the moment its creator could show it until it verifies: every answer,
 * and how long after the commit the first valid one came.
 */
async function askUntilValid(url: string, key: string, committedAt: number) {
  const answers: Record<string, unknown>[] = [];
  for (;;) {
    const answer = (await postVerify(url, { key }, `Bearer ${TOKEN}`)).json;
    answers.push(answer);
    if (answer.valid === true || performance.now() - committedAt > 3_000) break;
  }
  return { answers, ms: performance.now() - committedAt };
}

describe.runIf(onRealPostgres)('the filter of live secrets across replicas', () => {
  let database: TestDatabase;
  let replica: RekeyProcess;
  let services: ReturnType<typeof testServices>;

  beforeAll(async () => {
    database = await openTestDatabase();
    // This process is the replica where keys are made; `replica` is another rekey process.
    services = testServices(database, { clock: manualClock(new Date()) });
    replica = await spawnRekey({
      DATABASE_URL: database.url!,
      REKEY_API_TOKENS: TOKEN,
      REKEY_DATA_DIR: '/nonexistent',
    });
    const trusted = await until(
      () => metricValue(replica.url, 'rekey_verify_filter_trusted'),
      (v) => v === 1,
      10_000,
    );
    expect(trusted).toBe(1);
  }, 60_000);
  afterAll(async () => {
    replica?.child.kill('SIGTERM');
    await replica?.exited;
    await database?.close();
  });

  it('a key created or rotated on another replica verifies there within 1 s, never NOT_FOUND once it could be shown', async () => {
    const heardBefore = await metricValue(replica.url, 'rekey_verify_filter_secrets');
    const slowest: number[] = [];
    for (let i = 0; i < 8; i++) {
      // createKey returns the key string after the commit: from here its creator could show it.
      const created = await createTestKey(services);
      const first = await askUntilValid(replica.url, created.token, performance.now());
      const rotated = await rotateTestKey(services, { id: created.key.id }, '1h');
      const second = await askUntilValid(replica.url, rotated.token, performance.now());
      for (const { answers, ms } of [first, second]) {
        expect(answers.filter((a) => a.valid !== true)).toEqual([]);
        slowest.push(ms);
      }
      // Unhurried, as people create keys: the replica looks up the keys its filter rules out while
      // they are this rare, so none is refused while its announcement is on its way.
      await new Promise((r) => setTimeout(r, 150));
    }
    console.log(
      `first answers on the other replica, ms after the commit: ${slowest.map(Math.round).join(', ')}`,
    );
    expect(Math.max(...slowest)).toBeLessThan(1_000);
    // Each new secret reached that replica's filter through the database's announcement.
    const heard = await until(
      () => metricValue(replica.url, 'rekey_verify_filter_secrets'),
      (v) => v >= heardBefore + 16,
      1_000,
    );
    expect(heard).toBeGreaterThanOrEqual(heardBefore + 16);
  });

  it('during a flood of made-up keys, a key created on another replica verifies there within 1 s', async () => {
    let flooding = true;
    const flood = async () => {
      while (flooding) {
        await fetch(`${replica.url}/v1/keys/verify`, {
          method: 'POST',
          headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify({ key: generateToken('rk_live').token }),
        }).then((r) => r.arrayBuffer());
      }
    };
    const floods = Array.from({ length: 8 }, flood);
    try {
      // The flood has used up the lookups the replica spends on ruled-out keys: its filter answers alone.
      const answeredAlone = await metricValue(replica.url, 'rekey_verify_filter_answers_total');
      const busy = await until(
        () => metricValue(replica.url, 'rekey_verify_filter_answers_total'),
        (v) => v > answeredAlone + 100,
        10_000,
      );
      expect(busy).toBeGreaterThan(answeredAlone + 100);

      const heardBefore = await metricValue(replica.url, 'rekey_verify_filter_secrets');
      const created = await createTestKey(services);
      const { answers, ms } = await askUntilValid(replica.url, created.token, performance.now());
      console.log(`during the flood: valid on the other replica ${Math.round(ms)} ms after the commit`);
      expect(answers.at(-1)).toMatchObject({ valid: true, keyId: created.key.id });
      expect(ms).toBeLessThan(1_000);
      // Its filter holds the new secret (announced at the commit), so it stays valid however long the
      // flood goes on, not only when it wins one of the few lookups left for ruled-out keys.
      expect(await metricValue(replica.url, 'rekey_verify_filter_secrets')).toBe(heardBefore + 1);
    } finally {
      flooding = false;
      await Promise.all(floods);
    }
  });
});

describe.runIf(onRealPostgres)('the filter of live secrets while the invalidation channel is cut', () => {
  let database: TestDatabase;
  let proxy: TcpProxy;
  let throughProxy: Database;
  let cutReplica: Awaited<ReturnType<typeof startVerifyServer>>;

  beforeAll(async () => {
    database = await openTestDatabase();
    ({ proxy, database: throughProxy } = await openThroughProxy(database.url!));
  }, 60_000);
  afterAll(async () => {
    await cutReplica?.close();
    await throughProxy?.close();
    await proxy?.close();
    await database?.close();
  });

  it('a key created meanwhile on another process verifies on the cut replica as soon as the database answers', async () => {
    // Another process: its own services and connection, straight to the database.
    const elsewhere = testServices(database, { clock: manualClock(new Date()) });
    // The cut replica reaches the database only through the proxy. Its filter answers alone whatever
    // it rules out (no lookups spent on them, as during a flood): only its trust decides.
    cutReplica = await startVerifyServer({
      database: throughProxy,
      changes: new KeyChanges(),
      clock: elsewhere.clock,
      filterConfirmPerSecond: 0,
    });
    await cutReplica.path.liveSecrets.settled();
    expect(cutReplica.path.liveSecrets.trusted).toBe(true);
    expect((await postVerify(cutReplica.url, { key: generateToken('rk_live').token })).json).toEqual({
      valid: false,
      code: 'NOT_FOUND',
    });

    proxy.cut();
    const { token, key } = await createTestKey(elsewhere);
    // Its announcement went to a replica that was not listening: it cannot know the key, so it must
    // not say NOT_FOUND; it has no database to ask, so it says 503.
    const during: number[] = [];
    const cutUntil = performance.now() + 1_500;
    while (performance.now() < cutUntil) {
      during.push((await postVerify(cutReplica.url, { key: token })).status);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(during).toEqual(during.map(() => 503));
    expect(cutReplica.path.liveSecrets.trusted).toBe(false);

    proxy.restore();
    const restoredAt = performance.now();
    const first = await until(
      () => postVerify(cutReplica.url, { key: token }),
      (r) => r.status !== 503,
      10_000,
    );
    console.log(
      `first answer on the cut replica ${Math.round(performance.now() - restoredAt)} ms after the database came back`,
    );
    expect(first.json).toMatchObject({ valid: true, keyId: key.id });
    // Once the channel is back and a new filter is built, made-up keys are answered by it again.
    expect(
      await until(
        async () => cutReplica.path.liveSecrets.trusted,
        (trusted) => trusted,
        10_000,
      ),
    ).toBe(true);
    expect((await postVerify(cutReplica.url, { key: token })).json).toMatchObject({ valid: true });
    expect((await postVerify(cutReplica.url, { key: generateToken('rk_live').token })).json).toEqual({
      valid: false,
      code: 'NOT_FOUND',
    });
  }, 60_000);
});
