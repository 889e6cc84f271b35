import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reportCliError, runCli } from '../../src/cli/run-cli.ts';
import { findLastUses, findUseHours } from '../../src/store/usage-store.ts';
import { createTestKey, rotateTestKey } from '../support/fixtures.ts';
import { manualClock } from '../support/manual-clock.ts';
import { onRealPostgres, openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { testServices } from '../support/test-services.ts';
import { type RekeyProcess, spawnRekey } from './rekey-process.ts';
import { postVerify } from './verify-server.ts';

const TOKEN = 'usage-replica-token-0123456789abcdefgh';

async function until<T>(probe: () => Promise<T>, ok: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (ok(value) || performance.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface ShownSecret {
  id: string;
  lastUsedAt: string | null;
  uses: { lastHour: number; last24h: number };
}

describe.runIf(onRealPostgres)('usage counted on the verify path, across real processes', () => {
  let database: TestDatabase;
  let services: ReturnType<typeof testServices>;
  const replicas: RekeyProcess[] = [];

  beforeAll(async () => {
    database = await openTestDatabase();
    services = testServices(database, { clock: manualClock(new Date()) });
  }, 60_000);
  afterAll(async () => {
    for (const replica of replicas) {
      replica.child.kill('SIGTERM');
      await replica.exited;
    }
    await database?.close();
  });

  const start = async (flush: string) => {
    const replica = await spawnRekey({
      DATABASE_URL: database.url!,
      REKEY_API_TOKENS: TOKEN,
      REKEY_DATA_DIR: '/nonexistent',
      REKEY_USAGE_FLUSH: flush,
      // Everything the process logs, to check that no key string is among it.
      LOG_LEVEL: 'debug',
    });
    replicas.push(replica);
    return replica;
  };

  /** `keys show --json` in this process, against the same database the replicas write to. */
  const show = async (name: string) => {
    services.clock.set(new Date());
    const out: string[] = [];
    const io = { out: (t: string) => out.push(t), err: (t: string) => out.push(t) };
    let code: number;
    try {
      code = await runCli(['keys', 'show', name, '--json'], services, io);
    } catch (error) {
      code = reportCliError(error, true, io);
    }
    expect(code, out.join('\n')).toBe(0);
    return JSON.parse(out.join('\n')) as { current: ShownSecret; inGrace: ShownSecret[] };
  };

  it('two replicas counting one old key add up to exactly 1 000 uses within a flush interval, and nothing on the other secrets', async () => {
    const [a, b] = await Promise.all([start('1s'), start('1s')]);
    const created = await createTestKey(services);
    const other = await createTestKey(services);
    const rotation = await rotateTestKey(services, { id: created.key.id }, '24h');
    const oldKey = created.token;
    // Both replicas also verify the new key once and then stop: the old key's count must not absorb it.
    for (const replica of [a, b]) {
      expect((await postVerify(replica.url, { key: rotation.token }, `Bearer ${TOKEN}`)).status).toBe(200);
    }
    const verifyOld = async (url: string, count: number) => {
      for (let sent = 0; sent < count; sent += 25) {
        const batch = Array.from({ length: Math.min(25, count - sent) }, () =>
          postVerify(url, { key: oldKey }, `Bearer ${TOKEN}`),
        );
        for (const answer of await Promise.all(batch)) {
          expect(answer.json).toMatchObject({ valid: true, status: 'expiring' });
        }
      }
    };
    // 1 000 of the old key, unevenly spread over the two processes, at the same time.
    await Promise.all([verifyOld(a.url, 600), verifyOld(b.url, 400)]);
    const finished = performance.now();

    const shown = await until(
      () => show(created.key.name),
      (key) => key.inGrace[0]?.uses.lastHour === 1_000 && key.current.uses.lastHour === 2,
      5_000,
    );
    // One interval (1 s) plus a flush's own time: well within 3 s of the last answer.
    expect(performance.now() - finished).toBeLessThan(3_000);
    expect(shown.inGrace).toEqual([
      expect.objectContaining({
        id: rotation.oldSecret.id,
        lastUsedAt: expect.any(String),
        uses: { lastHour: 1_000, last24h: 1_000 },
      }),
    ]);
    expect(shown.current).toMatchObject({ id: rotation.newSecret.id, uses: { lastHour: 2, last24h: 2 } });
    expect(await show(other.key.name)).toMatchObject({
      current: { lastUsedAt: null, uses: { lastHour: 0, last24h: 0 } },
    });
    // Still exact a few flush intervals later: nothing is written twice.
    await new Promise((r) => setTimeout(r, 2_500));
    expect((await show(created.key.name)).inGrace[0]!.uses.lastHour).toBe(1_000);

    for (const replica of [a, b]) {
      expect(replica.output()).not.toContain(oldKey);
      expect(replica.output()).not.toContain(rotation.token);
    }
  }, 60_000);

  it('on SIGTERM writes what it counted since the last flush before it exits', async () => {
    // A flush interval far longer than the test: only the final flush on shutdown can write the uses.
    const replica = await start('5m');
    const { token, key } = await createTestKey(services);
    const rotation = await rotateTestKey(services, { id: key.id }, 'now');
    for (let i = 0; i < 17; i++) {
      expect((await postVerify(replica.url, { key: token }, `Bearer ${TOKEN}`)).json).toEqual({
        valid: false,
        code: 'EXPIRED',
      });
    }
    for (let i = 0; i < 5; i++) {
      const answer = await fetch(`${replica.url}/v1/keys/authorize`, {
        headers: { 'x-rekey-gateway-token': TOKEN, 'x-api-key': rotation.token },
      });
      expect(answer.status).toBe(200);
    }
    const since = new Date(Date.now() - 3_600_000);
    const ids = [rotation.oldSecret.id, rotation.newSecret.id];
    expect(await findUseHours(database.db, ids, since)).toEqual([]);

    replica.child.kill('SIGTERM');
    expect(await replica.exited).toBe(0);
    const hours = await findUseHours(database.db, ids, since);
    const usesOf = (id: string) => hours.filter((h) => h.secretId === id);
    expect(usesOf(rotation.oldSecret.id)).toEqual([expect.objectContaining({ uses: 17, expiredUses: 17 })]);
    // The gateways' authorize route counts the same way as verify.
    expect(usesOf(rotation.newSecret.id)).toEqual([expect.objectContaining({ uses: 5, expiredUses: 0 })]);
    expect([...(await findLastUses(database.db, ids)).keys()].sort()).toEqual([...ids].sort());
    expect(replica.output()).not.toContain(token);
    expect(replica.output()).not.toContain(rotation.token);
  }, 60_000);
});
