import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Rekey, startRekey } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { type FakeSlack, startFakeSlack } from '../fake-slack/index.ts';
import { BOT_TOKEN, SIGNING_SECRET } from '../slack/harness.ts';
import { createTestKey } from '../support/fixtures.ts';
import { openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { testServices } from '../support/test-services.ts';

const TOKEN = 'role-routes-token-0123456789abcdefgh';
const SCANNER_TOKEN = 'role-routes-scanner-0123456789abcdef';
/** Split roles need a PostgreSQL URL in the config; these apps are handed the test database instead. */
const UNOPENED_URL = 'postgres://rekey@unopened.invalid/rekey';

type Ask = { method?: string; path: string; headers?: Record<string, string>; body?: string };

/** Every route's answer on one process: status only, which is what a gateway or a prober sees. */
async function statusOf(rekey: Rekey, ask: Ask): Promise<number> {
  const response = await fetch(`${rekey.url}${ask.path}`, {
    method: ask.method ?? 'GET',
    headers: ask.headers,
    body: ask.body,
  });
  await response.arrayBuffer();
  return response.status;
}

let database: TestDatabase;
let fake: FakeSlack;
let verifyRole: Rekey;
let botRole: Rekey;
let token: string;

beforeAll(async () => {
  database = await openTestDatabase();
  fake = await startFakeSlack({ botToken: BOT_TOKEN });
  const common = {
    PORT: '0',
    DATABASE_URL: UNOPENED_URL,
    REKEY_API_TOKENS: TOKEN,
    REKEY_SCANNER_TOKENS: SCANNER_TOKEN,
    LOG_LEVEL: 'silent',
  };
  const options = { database, logger: createLogger('silent'), host: '127.0.0.1' };
  verifyRole = await startRekey(loadConfig({ ...common, REKEY_ROLE: 'verify' }), options);
  botRole = await startRekey(
    loadConfig({
      ...common,
      REKEY_ROLE: 'bot',
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: fake.apiUrl,
    }),
    options,
  );
  ({ token } = await createTestKey(testServices(database)));
});
afterAll(async () => {
  await verifyRole?.close();
  await botRole?.close();
  await fake?.close();
  await database?.close();
});

const verifyCall: Ask = {
  method: 'POST',
  path: '/v1/keys/verify',
  headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
};
const authorizeCall = (key: string): Ask => ({
  path: '/v1/keys/authorize/orders',
  headers: { 'x-rekey-gateway-token': TOKEN, 'x-api-key': key },
});

describe('REKEY_ROLE=verify', () => {
  it('verifies and authorizes keys, and answers health, readiness, metrics and OpenAPI', async () => {
    expect(await statusOf(verifyRole, { ...verifyCall, body: JSON.stringify({ key: token }) })).toBe(200);
    expect(await statusOf(verifyRole, authorizeCall(token))).toBe(200);
    for (const path of ['/healthz', '/readyz', '/metrics', '/openapi.json']) {
      expect([path, await statusOf(verifyRole, { path })]).toEqual([path, 200]);
    }
  });

  it('answers 404 on Slack, the leak route and the page, as if they did not exist', async () => {
    const absent: Ask[] = [
      { method: 'POST', path: '/slack/events', body: 'token=x' },
      {
        method: 'POST',
        path: '/v1/leaks',
        headers: { authorization: `Bearer ${SCANNER_TOKEN}` },
        body: '[]',
      },
      { path: '/' },
      { path: '/local/app.js' },
    ];
    for (const ask of absent) expect([ask.path, await statusOf(verifyRole, ask)]).toEqual([ask.path, 404]);
  });
});

describe("each role's /metrics", () => {
  const metricsOf = async (rekey: typeof verifyRole) => (await fetch(`${rekey.url}/metrics`)).text();

  it('a bot, which runs no verify path, exports no invalidation-channel gauge (its alert would fire forever)', async () => {
    expect(await metricsOf(verifyRole)).toMatch(/^rekey_invalidation_channel_up [01]$/m);
    expect(await metricsOf(botRole)).not.toContain('rekey_invalidation_channel_up');
  });
});

describe('REKEY_ROLE=bot', () => {
  it('answers Slack (signature-checked), the leak route, health, readiness and metrics', async () => {
    // Unsigned: Bolt itself refuses it, which proves the route is there.
    expect(await statusOf(botRole, { method: 'POST', path: '/slack/events', body: 'token=x' })).toBe(401);
    expect(
      await statusOf(botRole, {
        method: 'POST',
        path: '/v1/leaks',
        headers: { authorization: `Bearer ${SCANNER_TOKEN}`, 'content-type': 'application/json' },
        body: '[]',
      }),
    ).toBe(200);
    for (const path of ['/healthz', '/readyz', '/metrics']) {
      expect([path, await statusOf(botRole, { path })]).toEqual([path, 200]);
    }
  });

  it('answers 404 on verify (any method), authorize and OpenAPI', async () => {
    const absent: Ask[] = [
      { ...verifyCall, body: JSON.stringify({ key: token }) },
      { path: '/v1/keys/verify' },
      authorizeCall(token),
      { path: '/v1/keys/authorize' },
      { path: '/openapi.json' },
      { path: '/' },
    ];
    for (const ask of absent) {
      expect([ask.method ?? 'GET', ask.path, await statusOf(botRole, ask)]).toEqual([
        ask.method ?? 'GET',
        ask.path,
        404,
      ]);
    }
  });
});
