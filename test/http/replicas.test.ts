import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateToken } from '../../src/keys/token.ts';
import { createTestKey } from '../support/fixtures.ts';
import { manualClock } from '../support/manual-clock.ts';
import { PROJECT_ROOT, runCliProcess } from '../support/spawn-rekey.ts';
import { onRealPostgres, openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { cliActor, testServices } from '../support/test-services.ts';
import { watch } from '../support/watch.ts';
import { type RekeyProcess, spawnRekey } from './rekey-process.ts';
import { postVerify, startVerifyServer } from './verify-server.ts';

const TOKEN = 'replica-token-0123456789abcdefghijk';

async function until<T>(probe: () => Promise<T>, ok: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (ok(value) || performance.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 20));
  }
}

const metricValue = async (url: string, name: string) => {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : Number.NaN;
};

describe.runIf(onRealPostgres)('several replicas on one PostgreSQL', () => {
  let database: TestDatabase;
  let replicaB: RekeyProcess;
  let services: ReturnType<typeof testServices>;
  let replicaA: Awaited<ReturnType<typeof startVerifyServer>>;

  beforeAll(async () => {
    database = await openTestDatabase();
    // Replica A runs in this process (its rotations are made here); replica B is a separate rekey process.
    services = testServices(database, { clock: manualClock(new Date()) });
    replicaA = await startVerifyServer({ database, changes: services.changes, clock: services.clock });
    replicaB = await spawnRekey({
      DATABASE_URL: database.url!,
      REKEY_API_TOKENS: TOKEN,
      REKEY_DATA_DIR: '/nonexistent',
    });
  }, 60_000);
  afterAll(async () => {
    replicaB?.child.kill('SIGTERM');
    await replicaB?.exited;
    await replicaA?.close();
    await database?.close();
  });

  it('an immediate rotation on one replica makes the old key EXPIRED on the other within 1 s', async () => {
    const { token, key } = await createTestKey(services);
    // B has the key cached as valid (a hit would keep saying so until the TTL without invalidation).
    expect((await postVerify(replicaB.url, { key: token }, `Bearer ${TOKEN}`)).json).toMatchObject({
      valid: true,
    });
    expect((await postVerify(replicaB.url, { key: token }, `Bearer ${TOKEN}`)).json).toMatchObject({
      valid: true,
    });
    const rotatedAt = performance.now();
    await services.rotateKey({
      key: { id: key.id },
      delay: 'now',
      actor: cliActor,
      acknowledged: true,
      requestId: 'replica-now',
    });
    const seen = await until(
      () => postVerify(replicaB.url, { key: token }, `Bearer ${TOKEN}`),
      (r) => r.json.code === 'EXPIRED',
      3_000,
    );
    const elapsed = performance.now() - rotatedAt;
    expect(seen.json).toEqual({ valid: false, code: 'EXPIRED' });
    expect(elapsed).toBeLessThan(1_000);
    expect(
      await metricValue(replicaB.url, 'rekey_cache_invalidations_total{origin="remote"}'),
    ).toBeGreaterThan(0);
  });

  it('a rotation made with the CLI, in another process, makes the old key EXPIRED on a replica within 1 s', async () => {
    const { token, key } = await createTestKey(services);
    for (let i = 0; i < 2; i++) {
      expect((await postVerify(replicaB.url, { key: token }, `Bearer ${TOKEN}`)).json).toMatchObject({
        valid: true,
      });
    }
    // Watched from before the CLI starts, so the answer is seen when it changes, not once the CLI exits.
    const rotating = runCliProcess(['keys', 'rotate', key.name, '--delay', 'now', '--yes', '--json'], {
      cwd: PROJECT_ROOT,
      env: { DATABASE_URL: database.url! },
    });
    const seen = watch(
      () => postVerify(replicaB.url, { key: token }, `Bearer ${TOKEN}`),
      (r) => r.json.code === 'EXPIRED',
      { after: rotating, timeoutMs: 3_000 },
    );
    const cli = await rotating;
    expect(cli.code, cli.stderr).toBe(0);
    const { value, seenAt } = await seen;
    expect(value.json).toEqual({ valid: false, code: 'EXPIRED' });
    // From the rotation's commit: its audit row is written in that transaction, with the CLI's clock
    // (this machine's), just before it commits.
    const rotatedAt = (await services.keyAudit({ name: key.name })).events.find(
      (e) => e.action === 'rotate',
    )!.at;
    expect(seenAt! - rotatedAt.getTime()).toBeLessThan(1_000);
  });

  it('through a database outage: serves cached keys, 503 for the rest, says the channel is down, recovers', async () => {
    const { token: cached } = await createTestKey(services);
    const { token: unseen } = await createTestKey(services);
    expect((await postVerify(replicaB.url, { key: cached }, `Bearer ${TOKEN}`)).status).toBe(200);
    const name = new URL(database.url!).pathname.slice(1);
    const admin = postgres(process.env.TEST_DATABASE_URL!, { max: 1, onnotice: () => {} });
    try {
      await admin.unsafe(`alter database "${name}" allow_connections false`);
      await admin`select pg_terminate_backend(pid) from pg_stat_activity where datname = ${name}`;

      expect((await postVerify(replicaB.url, { key: cached }, `Bearer ${TOKEN}`)).json).toMatchObject({
        valid: true,
      });
      const started = performance.now();
      const miss = await postVerify(replicaB.url, { key: unseen }, `Bearer ${TOKEN}`);
      expect(miss.status).toBe(503);
      expect(miss.headers.get('retry-after')).toBe('1');
      expect(miss.json).not.toHaveProperty('valid');
      expect(performance.now() - started).toBeLessThan(2_000);
      expect(
        (await postVerify(replicaB.url, { key: generateToken('rk_live').token }, `Bearer ${TOKEN}`)).status,
      ).toBe(503);
      // Readiness is refreshed once a second in the background: the outage shows within about that.
      const readiness = () => fetch(`${replicaB.url}/readyz`).then((r) => r.status);
      expect(await until(readiness, (status) => status === 503, 3_000)).toBe(503);
      const down = await until(
        () => metricValue(replicaB.url, 'rekey_invalidation_channel_up'),
        (v) => v === 0,
        5_000,
      );
      expect(down).toBe(0);
      expect(replicaB.output()).toContain('invalidation channel is down');
    } finally {
      await admin.unsafe(`alter database "${name}" allow_connections true`);
      await admin.end({ timeout: 5 });
    }
    const recovered = await until(
      () => postVerify(replicaB.url, { key: unseen }, `Bearer ${TOKEN}`),
      (r) => r.status === 200,
      10_000,
    );
    expect(recovered.json).toMatchObject({ valid: true, status: 'active' });
    expect(
      await until(
        () => fetch(`${replicaB.url}/readyz`).then((r) => r.status),
        (s) => s === 200,
        3_000,
      ),
    ).toBe(200);
    const up = await until(
      () => metricValue(replicaB.url, 'rekey_invalidation_channel_up'),
      (v) => v === 1,
      10_000,
    );
    expect(up).toBe(1);
    expect(replicaB.child.exitCode).toBeNull();
  }, 60_000);
});
