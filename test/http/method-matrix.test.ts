import { Agent, request } from 'node:http';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Rekey, startRekey } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { type FakeSlack, startFakeSlack } from '../fake-slack/index.ts';
import { BOT_TOKEN, SIGNING_SECRET } from '../slack/harness.ts';
import { createTestKey } from '../support/fixtures.ts';
import { openTestDatabase, type TestDatabase } from '../support/test-database.ts';

const API_TOKEN = 'method-matrix-gateway-token-0123456789';
const SCANNER_TOKEN = 'method-matrix-scanner-token-0123456789';
const METHODS = ['GET', 'HEAD', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'POST'] as const;

/** What a path answers: the methods it allows (the `Allow` of a 405), any method, or nothing (404). */
type Expected = { allow: string } | 'any' | 'not_found';
const GET = { allow: 'GET, HEAD' };
const POST = { allow: 'POST' };

/**
 * Every path of HTTP mode, as the README documents it: trailing slashes are other paths (404, never a
 * redirect: gateways and Slack are configured with exact URLs), and the query string is not part of
 * the path. Below /v1/keys/authorize, every path is authorize's, `/` included.
 */
const HTTP_MODE: Record<string, Expected> = {
  '/slack/events': POST,
  '/slack/events?ssl_check=1': POST,
  '/slack/events/': 'not_found',
  '/v1/keys/verify': POST,
  '/v1/keys/verify?trace=1': POST,
  '/v1/keys/verify/': 'not_found',
  '/v1/keys/authorize': 'any',
  '/v1/keys/authorize/': 'any',
  '/v1/keys/authorize/payments/v2?page=3': 'any',
  '/v1/keys/authorizeX': 'not_found',
  '/v1/leaks': POST,
  '/v1/leaks/': 'not_found',
  '/healthz': GET,
  '/healthz?x=1': GET,
  '/healthz/': 'not_found',
  '/v1/leaks?x=1': POST,
  '/readyz': GET,
  '/readyz/': 'not_found',
  '/metrics': GET,
  '/metrics/': 'not_found',
  '/openapi.json': GET,
  '/openapi.json/': 'not_found',
  '/': 'not_found',
  '/nope': 'not_found',
  '//healthz': 'not_found',
  '/%68ealthz': 'not_found',
};

/** Local mode serves its page at / and the page's API, besides everything above. */
const LOCAL_MODE: Record<string, Expected> = {
  ...HTTP_MODE,
  '/': GET,
  '/?user=U0ADA': GET,
  '/local/app.js': GET,
  '/local/style.css': GET,
  '/local/api/state': GET,
  '/local/api/state?user=U0LINUS': GET,
  '/local/api/message': POST,
  '/local/api/block-action': POST,
  '/local/api/': 'not_found',
};

interface Answer {
  status: number;
  allow: string | undefined;
  /** Set when the connection dropped instead of answering. */
  dropped?: string;
}

function send(agent: Agent, base: string, method: string, path: string, body?: string): Promise<Answer> {
  return new Promise((resolve) => {
    const req = request(
      `${base}${path}`,
      {
        agent,
        method,
        // With its length: node's client does not reuse a connection cleanly after a chunked GET body.
        headers:
          body === undefined
            ? {}
            : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, allow: res.headers.allow }));
        res.on('error', (error) => resolve({ status: 0, allow: undefined, dropped: error.message }));
      },
    );
    req.on('error', (error) => resolve({ status: 0, allow: undefined, dropped: error.message }));
    req.end(body);
  });
}

/** Every path × method × with and without a body, one keep-alive connection: what each got that it should not. */
async function problemsOf(base: string, table: Record<string, Expected>): Promise<string[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const problems: string[] = [];
  try {
    for (const [path, expected] of Object.entries(table)) {
      for (const method of METHODS) {
        for (const body of [undefined, '{}']) {
          const what = `${method} ${path}${body === undefined ? '' : ' with a body'}`;
          const answer = await send(agent, base, method, path, body);
          if (answer.dropped) {
            problems.push(`${what}: connection dropped (${answer.dropped})`);
            continue;
          }
          const { status } = answer;
          // The database is up: even the documented 503s (not ready, a lookup it cannot make) are bugs.
          if (status >= 500) problems.push(`${what}: ${status}`);
          if (expected === 'not_found') {
            if (status !== 404) problems.push(`${what}: ${status}, expected 404`);
          } else if (expected !== 'any' && !expected.allow.split(', ').includes(method)) {
            if (status !== 405 || answer.allow !== expected.allow)
              problems.push(`${what}: ${status} Allow=${answer.allow}, expected 405 Allow=${expected.allow}`);
          } else if (status === 404 || status === 405) {
            problems.push(`${what}: ${status}, but this path answers ${method}`);
          }
        }
      }
    }
  } finally {
    agent.destroy();
  }
  return problems;
}

let database: TestDatabase;
let fake: FakeSlack;
let httpMode: Rekey;
let localMode: Rekey;
const logs: string[] = [];
beforeAll(async () => {
  database = await openTestDatabase();
  fake = await startFakeSlack({ botToken: BOT_TOKEN });
  const logger = pino({ level: 'info' }, { write: (line: string) => logs.push(line) });
  const common = {
    PORT: '0',
    REKEY_API_TOKENS: API_TOKEN,
    REKEY_SCANNER_TOKENS: SCANNER_TOKEN,
    LOG_LEVEL: 'silent',
  };
  httpMode = await startRekey(
    loadConfig({
      ...common,
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: fake.apiUrl,
    }),
    { database, logger, host: '127.0.0.1' },
  );
  localMode = await startRekey(loadConfig(common), { database, logger });
});
afterAll(async () => {
  await httpMode?.close();
  await localMode?.close();
  await fake?.close();
  await database?.close();
});

async function stillServes(rekey: Rekey, token: string) {
  expect((await fetch(`${rekey.url}/healthz`)).status).toBe(200);
  const verified = await fetch(`${rekey.url}/v1/keys/verify`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ key: token }),
  });
  expect(await verified.json()).toMatchObject({ valid: true });
  const authorized = await fetch(`${rekey.url}/v1/keys/authorize`, {
    headers: { 'x-rekey-gateway-token': API_TOKEN, 'x-api-key': token },
  });
  expect(authorized.status).toBe(200);
}

describe('any method on any path (anonymous, as a probe, a browser or a stranger sends it)', () => {
  it('in HTTP mode: 405 with Allow for a wrong method, 404 for an unknown path, never a 5xx or a dropped connection', async () => {
    expect(httpMode.localMode).toBe(false);
    expect(await problemsOf(httpMode.url, HTTP_MODE)).toEqual([]);
    await stillServes(httpMode, (await createTestKey(httpMode.services)).token);
    expect(logs.filter((line) => line.includes('request failed'))).toEqual([]);
  });

  it("in local mode, its page's paths too", async () => {
    expect(localMode.localMode).toBe(true);
    expect(await problemsOf(localMode.url, LOCAL_MODE)).toEqual([]);
    await stillServes(localMode, (await createTestKey(localMode.services)).token);
    expect(logs.filter((line) => line.includes('request failed'))).toEqual([]);
  });
});

describe('each token does one job, as the app wires them', () => {
  it('a gateway token is refused by /v1/leaks, a scanner token by verify and authorize', async () => {
    const { token } = await createTestKey(httpMode.services);
    const leaks = (bearer: string) =>
      fetch(`${httpMode.url}/v1/leaks`, {
        method: 'POST',
        headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
        body: JSON.stringify([{ token: 'not a key', url: 'https://example.com/x', source: 'test' }]),
      });
    expect((await leaks(API_TOKEN)).status).toBe(401);
    expect((await leaks(SCANNER_TOKEN)).status).toBe(200);
    const verified = await fetch(`${httpMode.url}/v1/keys/verify`, {
      method: 'POST',
      headers: { authorization: `Bearer ${SCANNER_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ key: token }),
    });
    expect(verified.status).toBe(401);
    const authorized = await fetch(`${httpMode.url}/v1/keys/authorize`, {
      headers: { 'x-rekey-gateway-token': SCANNER_TOKEN, 'x-api-key': token },
    });
    expect([401, 403]).toContain(authorized.status);
    expect(authorized.headers.get('x-rekey-key-id')).toBeNull();
  });
});
