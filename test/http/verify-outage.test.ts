import { afterAll, beforeAll, expect, it } from 'vitest';
import { KeyChanges } from '../../src/services/key-changes.ts';
import type { Database } from '../../src/store/database.ts';
import { createTestKey } from '../support/fixtures.ts';
import { manualClock } from '../support/manual-clock.ts';
import { openThroughProxy, type TcpProxy } from '../support/tcp-proxy.ts';
import { onRealPostgres, openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { cliActor, testServices } from '../support/test-services.ts';
import { until } from '../support/until.ts';
import { postVerify, startVerifyServer } from './verify-server.ts';

let database: TestDatabase;
let proxy: TcpProxy;
let throughProxy: Database;
let replica: Awaited<ReturnType<typeof startVerifyServer>>;

beforeAll(async () => {
  if (!onRealPostgres) return;
  database = await openTestDatabase();
  ({ proxy, database: throughProxy } = await openThroughProxy(database.url!));
}, 60_000);
afterAll(async () => {
  await replica?.close();
  await throughProxy?.close();
  await proxy?.close();
  await database?.close();
});

it.runIf(onRealPostgres)(
  'after a database outage, a key rotated "now" elsewhere is EXPIRED on the cut replica within 2 s',
  async () => {
    // Another process: its own services and connection, straight to the database.
    const elsewhere = testServices(database, { clock: manualClock(new Date()) });
    // The cut replica reaches the database only through the proxy, and hears nothing from `elsewhere`
    // but what the database announces.
    replica = await startVerifyServer({
      database: throughProxy,
      changes: new KeyChanges(),
      clock: elsewhere.clock,
    });
    const { token, key } = await createTestKey(elsewhere);
    // Issued, never asked for on the replica: only the database can answer it.
    const cold = await createTestKey(elsewhere);
    for (let i = 0; i < 2; i++) {
      expect((await postVerify(replica.url, { key: token })).json).toMatchObject({ valid: true });
    }

    proxy.cut();
    // During the outage: cached keys keep working, cold keys cannot be answered.
    const during: number[] = [];
    const cutUntil = performance.now() + 3_000;
    while (performance.now() < cutUntil) {
      during.push((await postVerify(replica.url, { key: cold.token })).status);
      expect((await postVerify(replica.url, { key: token })).json).toMatchObject({ valid: true });
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(during.length).toBeGreaterThan(0);
    expect(during).toEqual(during.map(() => 503));

    proxy.restore();
    await elsewhere.rotateKey({
      key: { id: key.id },
      delay: 'now',
      actor: cliActor,
      acknowledged: true,
      requestId: 'outage-now',
    });
    const rotatedAt = performance.now();
    const seen = await until(
      () => postVerify(replica.url, { key: token }),
      (r) => r.json.code === 'EXPIRED',
      10_000,
    );
    const elapsed = performance.now() - rotatedAt;
    console.log(`rotated key EXPIRED on the cut replica ${Math.round(elapsed)} ms after the rotation`);
    expect(seen.json).toEqual({ valid: false, code: 'EXPIRED' });
    expect(elapsed).toBeLessThan(2_000);
  },
  60_000,
);
