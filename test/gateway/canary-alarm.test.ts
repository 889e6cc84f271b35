import { createServer, type IncomingHttpHeaders, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeSlack, startFakeSlack } from '../fake-slack/index.ts';
import { type RekeyProcess, spawnRekey } from '../http/rekey-process.ts';
import { BOT_TOKEN, SIGNING_SECRET } from '../slack/harness.ts';
import { onRealPostgres, openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { cliActor, testServices, uniqueName } from '../support/test-services.ts';
import { type RunningNginx, startGateway } from './nginx.ts';

/** At least 32 characters, as config requires of REKEY_API_TOKENS. */
const GATEWAY_TOKEN = 'nginx-canary-gateway-token-0123456789abcd';

/** The API behind nginx: it must never be reached with a canary. */
function startApi(): Promise<{ server: Server; url: string; calls: number }> {
  const api = { server: undefined as unknown as Server, url: '', calls: 0 };
  api.server = createServer((_req, res) => {
    api.calls += 1;
    res.end('ok');
  });
  return new Promise((resolve) =>
    api.server.listen(0, '127.0.0.1', () => {
      api.url = `127.0.0.1:${(api.server.address() as AddressInfo).port}`;
      resolve(api);
    }),
  );
}

/** Polls `probe` (every 50 ms, up to 10 s) until it holds. */
async function until(probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error('condition not reached within 10 s');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.runIf(onRealPostgres)("a canary key presented through the README's nginx", () => {
  let database: TestDatabase;
  let fake: FakeSlack;
  let rekey: RekeyProcess;
  let api: Awaited<ReturnType<typeof startApi>>;
  let nginx: RunningNginx | undefined;
  let startError: unknown;

  beforeAll(async () => {
    database = await openTestDatabase();
    fake = await startFakeSlack({ botToken: BOT_TOKEN });
    api = await startApi();
    // rekey as deployed: its own process, Slack (the fake) for alarms, PostgreSQL for everything else.
    rekey = await spawnRekey({
      DATABASE_URL: database.url!,
      REKEY_API_TOKENS: GATEWAY_TOKEN,
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: fake.apiUrl,
      REKEY_DATA_DIR: '/nonexistent',
    });
    try {
      nginx = await startGateway({ rekey: new URL(rekey.url).host, api: api.url, token: GATEWAY_TOKEN });
    } catch (error) {
      startError = error;
    }
  }, 90_000);
  afterAll(async () => {
    await nginx?.stop();
    await rekey?.stop();
    await new Promise((resolve) => api?.server.close(resolve));
    await fake?.close();
    await database?.close();
  });

  it('is refused like any unknown key, and its alarm names the client address, URI and method within 5 s', async () => {
    if (!nginx) throw startError ?? new Error('nginx was not started');
    // Planted by the CLI, after rekey started: rekey learns of it from the database alone.
    const name = uniqueName('decoy');
    const { token } = await testServices(database).createKey({
      name,
      alertChannel: 'CSECURITY',
      maintainers: ['USECLEAD'],
      canary: true,
      actor: cliActor,
    });
    // rekey learns of it from the database's NOTIFY at the CLI's commit: /metrics says when.
    await until(async () =>
      (await (await fetch(`${rekey.url}/metrics`)).text()).includes('rekey_canary_keys 1'),
    );

    const sentAt = Date.now();
    // The intruder connects from its own address (one of loopback's) and forges X-Forwarded-For: the
    // README's nginx block replaces that header with the address it saw, which is what the alarm names.
    const answer = await getFrom(INTRUDER_ADDRESS, `${nginx.url}/orders/42?expand=all`, {
      'x-api-key': token,
      'x-forwarded-for': '203.0.113.9',
      'user-agent': 'intruder/1.0',
    });
    // The product's bound: the alarm reaches the key's alert channel within 5 s of the presentation.
    const alarm = fake.waitFor(
      (c) => c.method === 'chat.postMessage' && c.params.channel === 'CSECURITY' && c.outcome === 'ok',
      5_000 - (Date.now() - sentAt),
    );
    expect(answer.status).toBe(401);
    expect(answer.headers['x-rekey-code']).toBe('NOT_FOUND');
    expect(api.calls).toBe(0);

    const call = await alarm;
    const text = JSON.stringify(call.params);
    expect(text).toContain(`Canary key ${name} was tried`);
    expect(text).toContain(INTRUDER_ADDRESS);
    expect(text).not.toContain('203.0.113.9');
    expect(text).toContain('GET /orders/42?expand=all');
    expect(text).toContain('intruder/1.0');
    // Its maintainer hears it too, and the key string is in neither message.
    const dm = await fake.waitFor(
      (c) => c.method === 'chat.postMessage' && c.params.channel === 'USECLEAD',
      5_000,
    );
    expect(JSON.stringify(dm.params)).toContain(INTRUDER_ADDRESS);
    expect(JSON.stringify(fake.calls)).not.toContain(token);
  }, 60_000);
});

const INTRUDER_ADDRESS = '127.0.0.9';

/** A GET sent from `localAddress` (any 127.x.y.z works on Linux's loopback), with its status and headers. */
function getFrom(
  localAddress: string,
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { localAddress, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}
