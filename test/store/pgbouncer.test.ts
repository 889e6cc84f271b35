import { inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { secretUseHours } from '../../db/schema/index.ts';
import { generateToken } from '../../src/keys/token.ts';
import type { Database } from '../../src/store/database.ts';
import { openPostgres } from '../../src/store/open-postgres.ts';
import { postVerify } from '../http/verify-server.ts';
import { rotatedKey, schedulerEra, tick } from '../scheduler/support.ts';
import { createTestKey, rotateTestKey } from '../support/fixtures.ts';
import { MINUTE, manualClock } from '../support/manual-clock.ts';
import { type RunningPgbouncer, startPgbouncer } from '../support/pgbouncer.ts';
import { expectRotationSeenWithin } from '../support/rotation-timing.ts';
import { PROJECT_ROOT, type RunningRekey, runCliProcess, startRekeyProcess } from '../support/spawn-rekey.ts';
import {
  onRealPostgres,
  openTestDatabase,
  TEST_DATABASE_URL,
  type TestDatabase,
} from '../support/test-database.ts';
import { testServices } from '../support/test-services.ts';
import { startWireRecorder, type WireRecorder } from '../support/wire-recorder.ts';

const TOKEN = 'pgbouncer-token-0123456789abcdefghij';
const AUTH = `Bearer ${TOKEN}`;
/** Tests that run the CLI (tsx, a process each): seconds apiece on a busy machine. */
const CLI_TEST_MS = 90_000;

/** Expected answer of the verify API for one key string. */
type Expected = { valid: true; status: 'active' | 'expiring' } | { valid: false; code: string };

/**
 * PgBouncer in transaction mode, 3 server connections for every client: with REKEY_DATABASE_POOLER=transaction
 * rekey must need no session (no named prepared statements, no session settings, LISTEN elsewhere).
 */
describe.runIf(onRealPostgres)('behind PgBouncer in transaction pooling mode', () => {
  let database: TestDatabase;
  let bouncer: RunningPgbouncer;
  /** Between rekey and PgBouncer: what every pooled connection sent, read off the wire. */
  let wire: WireRecorder;
  let pooled: Record<string, string>;
  let replicas: RunningRekey[] = [];
  let services: ReturnType<typeof testServices>;

  beforeAll(async () => {
    database = await openTestDatabase();
    // The replicas decide expiry by the real clock: keys made here are made at the real time.
    services = testServices(database, { clock: manualClock(new Date()) });
    bouncer = await startPgbouncer(TEST_DATABASE_URL!, { poolSize: 3 });
    const bouncerUrl = new URL(bouncer.urlFor(database.url!));
    wire = await startWireRecorder({ host: bouncerUrl.hostname, port: Number(bouncerUrl.port) });
    const throughWire = new URL(bouncerUrl);
    throughWire.port = String(wire.port);
    pooled = {
      DATABASE_URL: throughWire.toString(),
      REKEY_DATABASE_POOLER: 'transaction',
      REKEY_LISTEN_DATABASE_URL: database.url!,
    };
    const start = () =>
      startRekeyProcess({
        cwd: PROJECT_ROOT,
        env: { ...pooled, REKEY_ROLE: 'verify', REKEY_API_TOKENS: TOKEN, REKEY_USAGE_FLUSH: '1s' },
      });
    replicas = await Promise.all([start(), start()]);
  }, 90_000);
  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    await wire?.stop();
    await bouncer?.stop();
    await database?.close();
  });

  const cli = async (args: string[]) => {
    const run = await runCliProcess([...args, '--json'], { cwd: PROJECT_ROOT, env: pooled });
    expect(run.code, `${run.stderr}\n${bouncer.log()}`).toBe(0);
    return JSON.parse(run.stdout) as Record<string, unknown>;
  };

  /** What the two replicas answered for `cases`, sent all at once, alternating between them. */
  const verifyAll = (cases: readonly { token: string }[]) =>
    Promise.all(cases.map((c, i) => postVerify(replicas[i % 2]!.url, { key: c.token }, AUTH)));

  /** Known secrets' verifications (valid or EXPIRED) sent by the concurrent test, counted per token. */
  const counted = new Map<string, number>();
  let countedSecretIds: string[] = [];

  it(
    'the CLI creates and rotates a key through PgBouncer',
    async () => {
      const created = (await cli(['keys', 'create', '--name', 'pooled-key', '--products', 'orders'])) as {
        token: string;
        key: { current: { id: string } };
      };
      expect(created.token).toMatch(/^rk_live_/);
      const rotated = (await cli(['keys', 'rotate', 'pooled-key', '--delay', '1h', '--yes'])) as {
        token: string;
        oldSecret: { id: string };
      };
      expect(rotated.oldSecret.id).toBe(created.key.current.id);
      // What the CLI wrote through the pooler is what the replicas (also through it) answer.
      expect((await postVerify(replicas[0]!.url, { key: created.token }, AUTH)).json).toMatchObject({
        valid: true,
        status: 'expiring',
      });
      expect((await postVerify(replicas[1]!.url, { key: rotated.token }, AUTH)).json).toMatchObject({
        valid: true,
        status: 'active',
      });
    },
    CLI_TEST_MS,
  );

  it('two replicas answer 200 concurrent verifications, every one right', async () => {
    const active = await createTestKey(services);
    const graced = await createTestKey(services);
    const rotated = await rotateTestKey(services, { id: graced.key.id }, '1h');
    const expired = await createTestKey(services);
    await rotateTestKey(services, { id: expired.key.id }, 'now');
    const kinds: { token: string; expected: Expected; secretId?: string }[] = [
      { token: active.token, expected: { valid: true, status: 'active' }, secretId: active.key.current!.id },
      {
        token: graced.token,
        expected: { valid: true, status: 'expiring' },
        secretId: graced.key.current!.id,
      },
      { token: rotated.token, expected: { valid: true, status: 'active' }, secretId: rotated.newSecret.id },
      {
        token: expired.token,
        expected: { valid: false, code: 'EXPIRED' },
        secretId: expired.key.current!.id,
      },
    ];
    // Half the requests carry a key nobody issued, each a different one: 100 cold lookups.
    const cases = Array.from({ length: 200 }, (_, i) =>
      i % 2 === 0
        ? kinds[(i / 2) % kinds.length]!
        : {
            token: generateToken('rk_live').token,
            expected: { valid: false, code: 'NOT_FOUND' } as Expected,
          },
    );
    const answers = await verifyAll(cases);
    const wrong = answers
      .map((answer, i) => ({ status: answer.status, json: answer.json, expected: cases[i]!.expected }))
      .filter(({ status, json, expected }) => status !== 200 || !matches(json, expected));
    expect(wrong, `${bouncer.log()}\n${replicas.map((r) => r.output()).join('\n')}`).toEqual([]);
    for (const c of cases) if (c.secretId) counted.set(c.secretId, (counted.get(c.secretId) ?? 0) + 1);
    countedSecretIds = [...counted.keys()];
  });

  it('each replica writes the uses it counted through PgBouncer: the stored counts add up exactly', async () => {
    expect(countedSecretIds).toHaveLength(4);
    const stored = async () => {
      const rows = await database.db
        .select({ secretId: secretUseHours.secretId, uses: sql<number>`sum(${secretUseHours.uses})::int` })
        .from(secretUseHours)
        .where(inArray(secretUseHours.secretId, countedSecretIds))
        .groupBy(secretUseHours.secretId);
      return new Map(rows.map((r) => [r.secretId, Number(r.uses)]));
    };
    // Each replica flushes every second (REKEY_USAGE_FLUSH=1s).
    const deadline = performance.now() + 10_000;
    let seen = await stored();
    while (!sameCounts(seen, counted) && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      seen = await stored();
    }
    expect(Object.fromEntries(seen)).toEqual(Object.fromEntries(counted));
  });

  it(
    'an immediate rotation made with the CLI through PgBouncer reaches both replicas within 1 s of its commit',
    async () => {
      const { token, key } = await createTestKey(services);
      await expectRotationSeenWithin(1_000, {
        db: database.db,
        replicaUrls: replicas.map((r) => r.url),
        key: { id: key.id, token },
        auth: AUTH,
        rotate: async () => {
          await cli(['keys', 'rotate', key.name, '--delay', 'now', '--yes']);
        },
      });
    },
    CLI_TEST_MS,
  );

  describe('three scheduler instances through PgBouncer', () => {
    const instances: Database[] = [];
    beforeAll(async () => {
      for (let i = 0; i < 3; i++) {
        instances.push(
          await openPostgres(pooled.DATABASE_URL!, {
            max: 2,
            pooler: 'transaction',
            directUrl: database.url!,
          }),
        );
      }
    });
    afterAll(async () => {
      for (const instance of instances) await instance.close();
    });

    it('claim every due notice once: each is posted exactly once, by more than one instance', async () => {
      const { clock, services: eraServices } = await schedulerEra(
        database,
        0,
        Date.parse('2027-05-03T09:00:00Z'),
      );
      const keys = [];
      for (let i = 0; i < 60; i++) keys.push(await rotatedKey(eraServices, '1h'));
      clock.advance(50 * MINUTE);
      const postedBy: string[][] = [[], [], []];
      const round = () =>
        Promise.all(
          instances.map((instance, i) =>
            tick(
              instance,
              clock,
              {
                chat: {
                  postMessage: async (args) => {
                    // Yield so the instances interleave their claims and posts.
                    await new Promise((resolve) => setTimeout(resolve, 2));
                    postedBy[i]!.push(args.text);
                    return { ok: true };
                  },
                },
              },
              { instanceId: `pooled-${i}`, batchSize: 10 },
            ),
          ),
        );
      await round();
      clock.advance(MINUTE);
      await round();
      const texts = postedBy.flat();
      const timesPosted = keys.map((k) => texts.filter((t) => t.includes(k.oldDisplay)).length);
      expect(timesPosted.filter((n) => n !== 1)).toEqual([]);
      expect(postedBy.filter((posts) => posts.length > 0).length).toBeGreaterThan(1);
    }, 60_000);
  });

  it('sends PgBouncer nothing that needs a session: no named statement, no SET outside a transaction, no LISTEN, no session lock', async () => {
    const { total, statements, boundNames } = await wire.report();
    // Everything above went through here: the replicas, the CLI and the scheduler instances.
    expect(total).toBeGreaterThan(100);
    expect(statements.filter((s) => s.name !== '').map((s) => s.sql)).toEqual([]);
    expect(boundNames).toEqual([]);
    const sessionScoped = /^\s*(set\s+(?!local\b)|reset\b|listen\b|unlisten\b|prepare\b)|pg_advisory_lock\(/i;
    expect(statements.filter((s) => sessionScoped.test(s.sql)).map((s) => s.sql)).toEqual([]);
  });
});

function matches(json: Record<string, unknown>, expected: Expected): boolean {
  if (expected.valid) return json.valid === true && json.status === expected.status;
  return json.valid === false && json.code === expected.code;
}

function sameCounts(a: Map<string, number>, b: Map<string, number>): boolean {
  return a.size === b.size && [...b].every(([id, n]) => a.get(id) === n);
}
