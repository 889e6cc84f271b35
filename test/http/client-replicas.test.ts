import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCutoverTick } from '../../src/scheduler/cutover-job.ts';
import { UsageCounter } from '../../src/services/usage-counter.ts';
import { openPostgres } from '../../src/store/open-postgres.ts';
import { addUseCounts } from '../../src/store/usage-store.ts';
import { recordingPoster, silentLogger } from '../scheduler/support.ts';
import { createTestKey, rotateTestKey } from '../support/fixtures.ts';
import { MINUTE, manualClock } from '../support/manual-clock.ts';
import { runCliInProcess } from '../support/run-cli-in-process.ts';
import { onRealPostgres, openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { slackActor, testServices } from '../support/test-services.ts';
import { until } from '../support/watch.ts';
import { type RekeyProcess, spawnRekey } from './rekey-process.ts';
import { postVerify } from './verify-server.ts';

const TOKEN = 'client-replica-token-0123456789abcdefg';

interface ShownClient {
  ip: string | null;
  userAgent: string | null;
  uses: number;
  lastUsedAt: string;
}

describe.runIf(onRealPostgres)('clients of a key across replicas on one PostgreSQL', () => {
  let database: TestDatabase;
  let services: ReturnType<typeof testServices>;
  const replicas: RekeyProcess[] = [];

  beforeAll(async () => {
    database = await openTestDatabase();
    services = testServices(database, { clock: manualClock(new Date()) });
    replicas.push(
      ...(await Promise.all(
        [1, 2].map(() =>
          spawnRekey({
            DATABASE_URL: database.url!,
            REKEY_API_TOKENS: TOKEN,
            REKEY_DATA_DIR: '/nonexistent',
            REKEY_USAGE_FLUSH: '1s',
          }),
        ),
      )),
    );
  }, 90_000);
  afterAll(async () => {
    for (const replica of replicas) {
      replica.child.kill('SIGTERM');
      await replica.exited;
    }
    await database?.close();
  });

  /** `keys show --json` in this process, against the database the replicas write to. */
  const show = async (name: string) => {
    services.clock.set(new Date());
    const shown = await runCliInProcess(['keys', 'show', name, '--json'], services);
    expect(shown.code, shown.err).toBe(0);
    return JSON.parse(shown.out) as {
      current: { clients: ShownClient[] };
      inGrace: Array<{ id: string; clients: ShownClient[] }>;
    };
  };

  it('three clients on the old key through authorize on two replicas: keys show --json lists exactly them, with their counts', async () => {
    const { token: oldKey, key } = await createTestKey(services);
    const rotation = await rotateTestKey(services, { id: key.id }, '24h');
    const clients = [
      { ip: '10.0.3.7', userAgent: 'python-requests/2.31', calls: 30 },
      { ip: '10.0.3.8', userAgent: 'Go-http-client/1.1', calls: 20 },
      { ip: '2001:db8::9', userAgent: 'curl/8.5.0', calls: 10 },
    ];
    // Every client's calls alternate between the two replicas, all clients at once.
    await Promise.all(
      clients.map(async (client) => {
        for (let i = 0; i < client.calls; i++) {
          const replica = replicas[i % 2]!;
          const answer = await fetch(`${replica.url}/v1/keys/authorize`, {
            headers: {
              'x-rekey-gateway-token': TOKEN,
              'x-api-key': oldKey,
              'x-forwarded-for': `${client.ip}, 172.16.0.1`,
              'user-agent': client.userAgent,
            },
          });
          expect(answer.status).toBe(200);
          expect(answer.headers.get('x-rekey-status')).toBe('expiring');
        }
      }),
    );
    const shown = await until(
      () => show(key.name),
      (k) => k.inGrace[0]?.clients.reduce((sum, c) => sum + c.uses, 0) === 60,
      10_000,
    );
    expect(shown.inGrace[0]!.id).toBe(rotation.oldSecret.id);
    expect(shown.inGrace[0]!.clients.map(({ ip, userAgent, uses }) => ({ ip, userAgent, uses }))).toEqual(
      clients.map(({ ip, userAgent, calls }) => ({ ip, userAgent, uses: calls })),
    );
    for (const client of shown.inGrace[0]!.clients) {
      expect(Date.now() - Date.parse(client.lastUsedAt)).toBeLessThan(60_000);
    }
    // Nothing was said about the new key: nobody sent it.
    expect(shown.current.clients).toEqual([]);
    // Still exact a few flushes later: nothing written twice.
    await new Promise((r) => setTimeout(r, 2_500));
    expect((await show(key.name)).inGrace[0]!.clients.map((c) => c.uses)).toEqual([30, 20, 10]);
    for (const replica of replicas) {
      expect(replica.output()).not.toContain(oldKey);
      expect(replica.output()).not.toContain(rotation.token);
    }
  }, 60_000);

  it('verify with a client that is not an IP address and a short user agent answers 400 on a replica', async () => {
    const { token } = await createTestKey(services);
    for (const client of [{ ip: 'example.com' }, { ip: '10.0.3.7', userAgent: 'x'.repeat(257) }]) {
      const answer = await postVerify(replicas[0]!.url, { key: token, client }, `Bearer ${TOKEN}`);
      expect(answer.status).toBe(400);
      expect(answer.json).toMatchObject({ error: 'bad_request' });
    }
    const fine = await postVerify(
      replicas[1]!.url,
      { key: token, client: { ip: '10.0.3.7', userAgent: 'python-requests/2.31' } },
      `Bearer ${TOKEN}`,
    );
    expect(fine.json).toMatchObject({ valid: true });
  });

  it('sends the cutover notice once when three replicas look at the same moment', async () => {
    const clock = manualClock(new Date('2027-03-01T10:00:00Z'));
    const local = testServices(database, { clock });
    const { key } = await createTestKey(local, { alertChannel: 'CCUTOVER', maintainers: ['UROT'] });
    const rotation = await rotateTestKey(local, { id: key.id }, '24h', slackActor('UROT'));
    const counter = new UsageCounter();
    counter.record(counter.slotFor(rotation.oldSecret.id), clock.now().getTime() + MINUTE, false);
    counter.record(counter.slotFor(rotation.newSecret.id), clock.now().getTime() + 30 * MINUTE, false);
    await addUseCounts(database.db, counter.drain());
    clock.advance(40 * MINUTE);
    const slack = recordingPoster(clock);
    const connections = await Promise.all([1, 2, 3].map(() => openPostgres(database.url!, { max: 2 })));
    try {
      const reports = await Promise.all(
        connections.map((connection, i) =>
          runCutoverTick({
            db: connection.db,
            clock,
            poster: slack.poster,
            logger: silentLogger,
            instanceId: `replica-${i}`,
            quietAfterMs: 30 * MINUTE,
            channelIntervalMs: 0,
          }),
        ),
      );
      const mine = slack.posts.filter((p) => p.text.includes(rotation.oldSecret.display));
      expect(mine.map((p) => p.channel).sort()).toEqual(['CCUTOVER', 'UROT']);
      expect(reports.reduce((sum, r) => sum + r.sent, 0)).toBe(1);
    } finally {
      await Promise.all(connections.map((c) => c.close()));
    }
  }, 60_000);
});
