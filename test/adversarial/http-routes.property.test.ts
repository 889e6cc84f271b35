import { Agent, request } from 'node:http';
import fc from 'fast-check';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Rekey, startRekey } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { type FakeSlack, startFakeSlack } from '../fake-slack/index.ts';
import { BOT_TOKEN, SIGNING_SECRET } from '../slack/harness.ts';
import { createTestKey, rotateTestKey } from '../support/fixtures.ts';
import { tablesText } from '../support/tables-text.ts';
import { openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { readStore, realKeyStrings, type StoreState, storeInvariants } from './change-audit.ts';
import { checkProperty, oddString } from './property-runs.ts';

/*
 * Every HTTP route with bodies and headers of every sort — the gateways' own, a stranger's, a broken
 * client's — on rekey as `npm start` wires it (HTTP mode, the real Bolt app behind /slack/events).
 * After each request: an answer (never a dropped connection), never a 5xx (the database is up, so no
 * 503 either), never a key string in the answer, a 2xx from verify or authorize only for a trusted
 * caller and a key string that works, and no change to the key store but a scanner's audited report.
 */

const API_TOKEN = 'adversarial-http-gateway-token-0123456789';
const SCANNER_TOKEN = 'adversarial-http-scanner-token-0123456789';
let database: TestDatabase;
let fake: FakeSlack;
let rekey: Rekey;
let agent: Agent;
const logs: string[] = [];
/** Key strings that work (current, and old in their grace period), and one that stopped working. */
const working: string[] = [];
let expired = '';

beforeAll(async () => {
  database = await openTestDatabase();
  fake = await startFakeSlack({ botToken: BOT_TOKEN });
  rekey = await startRekey(
    loadConfig({
      PORT: '0',
      REKEY_API_TOKENS: API_TOKEN,
      REKEY_SCANNER_TOKENS: SCANNER_TOKEN,
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: fake.apiUrl,
      LOG_LEVEL: 'silent',
    }),
    {
      database,
      logger: pino({ level: 'info' }, { write: (line: string) => logs.push(line) }),
      host: '127.0.0.1',
    },
  );
  const a = await createTestKey(rekey.services, {
    name: 'payments',
    products: ['billing'],
    alertChannel: null,
  });
  const b = await createTestKey(rekey.services, { name: 'search', products: [], alertChannel: null });
  const rotated = await rotateTestKey(rekey.services, { id: a.key.id }, '24h');
  const ended = await rotateTestKey(rekey.services, { id: b.key.id }, 'now');
  working.push(a.token, rotated.token, ended.token);
  expired = b.token;
  agent = new Agent({ keepAlive: true, maxSockets: 4 });
});
afterAll(async () => {
  agent?.destroy();
  await rekey?.close();
  await fake?.close();
  await database?.close();
});

/** A path or query piece from any string (a lone surrogate has no percent-encoding: dropped). */
const encoded = (text: string, encode: (t: string) => string) => encode(text.replace(/[\uD800-\uDFFF]/g, ''));

/** Header values node can send: printable latin-1, no line breaks. */
const headerSafe = (text: string) => text.replace(/[^\x20-\x7e\x80-\xff]/g, '').slice(0, 8_000);

interface Sent {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string | Buffer | undefined;
}

function requestArbitrary(): fc.Arbitrary<Sent> {
  const key = fc.oneof(fc.constantFrom(...working, expired), oddString(working));
  const token = fc.oneof(
    { weight: 3, arbitrary: fc.constant(API_TOKEN) },
    { weight: 2, arbitrary: fc.constant(SCANNER_TOKEN) },
    oddString(),
  );
  const path = fc.oneof(
    {
      weight: 6,
      arbitrary: fc.constantFrom(
        '/v1/keys/verify',
        '/v1/keys/authorize',
        '/v1/keys/authorize/payments/v2',
        '/v1/leaks',
        '/slack/events',
        '/healthz',
        '/readyz',
        '/metrics',
        '/openapi.json',
        '/',
      ),
    },
    fc
      .tuple(fc.constantFrom('/v1/keys/verify', '/v1/keys/authorize', '/slack/events', '/'), oddString())
      .map(([base, rest]) => `${base}${encoded(rest, encodeURI).replace(/[?#]/g, '')}`),
    fc
      .tuple(fc.constantFrom('/healthz', '/v1/keys/verify'), oddString())
      .map(([base, q]) => `${base}?${encoded(q, encodeURIComponent)}`),
  );
  const headers = fc.record(
    {
      authorization: fc.oneof(
        token.map((t) => `Bearer ${t}`),
        key.map((k) => `Bearer ${k}`),
        oddString(),
      ),
      'x-api-key': key,
      'x-rekey-gateway-token': token,
      'x-rekey-product': fc.oneof(fc.constantFrom('billing', 'other'), oddString()),
      'content-type': fc.constantFrom(
        'application/json',
        'application/x-www-form-urlencoded',
        'text/plain',
        'application/json; charset=utf-8',
        '',
      ),
      'x-forwarded-for': fc.oneof(fc.ipV4(), fc.ipV6(), oddString()),
      'user-agent': oddString(),
      'x-original-uri': oddString(),
      'x-slack-signature': oddString(),
      'x-slack-request-timestamp': fc.oneof(fc.integer().map(String), oddString()),
    },
    { requiredKeys: [] },
  );
  const findings = fc
    .array(
      fc.record(
        {
          token: key,
          // A paste's address may hold the key itself.
          url: fc.oneof(oddString(), {
            weight: 2,
            arbitrary: key.map((k) => `https://paste.example/raw?text=${k}`),
          }),
          source: oddString(),
        },
        { requiredKeys: [] },
      ),
      {
        maxLength: 4,
      },
    )
    .map((findings) => JSON.stringify(findings));
  const json = fc.oneof(
    key.map((k) => JSON.stringify({ key: k })),
    fc
      .record({
        key,
        client: fc.record(
          { ip: fc.oneof(fc.ipV4(), oddString()), userAgent: oddString() },
          { requiredKeys: [] },
        ),
      })
      .map((b) => JSON.stringify(b)),
    findings,
    fc.jsonValue().map((v) => JSON.stringify(v)),
  );
  const body = fc.oneof(
    { weight: 2, arbitrary: fc.constant(undefined) },
    { weight: 5, arbitrary: json },
    { weight: 2, arbitrary: oddString(working) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)) },
  );
  const anything = fc.record({
    method: fc.constantFrom('GET', 'HEAD', 'POST', 'POST', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'),
    path,
    headers: headers.map((h) => Object.fromEntries(Object.entries(h).map(([n, v]) => [n, headerSafe(v)]))),
    body,
  });
  // A scanner's report as a secret scanner sends it (with any token): past the route's 401, its body.
  const report = fc.record({
    method: fc.constant('POST'),
    path: fc.constant('/v1/leaks'),
    headers: fc.oneof({ weight: 3, arbitrary: fc.constant(SCANNER_TOKEN) }, token).map((t) => ({
      authorization: headerSafe(`Bearer ${t}`),
      'content-type': 'application/json',
    })),
    body: findings,
  });
  return fc.oneof({ weight: 4, arbitrary: anything }, { weight: 1, arbitrary: report });
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

function send(sent: Sent): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...sent.headers };
    if (sent.body !== undefined) headers['content-length'] = String(Buffer.byteLength(sent.body));
    const req = request(`${rekey.url}${sent.path}`, { agent, method: sent.method, headers }, (res) => {
      let text = '';
      res.setEncoding('latin1');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(sent.body);
  });
}

const pathOf = (sent: Sent) => sent.path.split('?', 1)[0]!;

function problemsOf(sent: Sent, answer: Answer, before: StoreState, after: StoreState): string[] {
  const problems: string[] = [];
  if (answer.status >= 500) problems.push(`answered ${answer.status}`);
  const shown = answer.text + JSON.stringify(answer.headers);
  for (const { secretId } of realKeyStrings(shown, after))
    problems.push(`key string of ${secretId} in the answer`);
  const path = pathOf(sent);
  const ok = answer.status >= 200 && answer.status < 300;
  if (path === '/v1/keys/authorize' || path.startsWith('/v1/keys/authorize/')) {
    const presented =
      sent.headers['x-api-key'] || sent.headers.authorization?.replace(/^bearer /i, '').trim();
    if (ok && sent.headers['x-rekey-gateway-token'] !== API_TOKEN)
      problems.push('authorize let an untrusted gateway through');
    if (ok && !working.includes(presented ?? ''))
      problems.push('authorize let through a key that does not work');
  }
  if (path === '/v1/leaks' && ok && sent.headers.authorization !== `Bearer ${SCANNER_TOKEN}`)
    problems.push('/v1/leaks took a report from a caller without a scanner token');
  if (path === '/v1/keys/verify' && ok && sent.method === 'POST') {
    if (sent.headers.authorization !== `Bearer ${API_TOKEN}`)
      problems.push('verify answered an untrusted caller');
    const verdict = JSON.parse(answer.text) as { valid: boolean };
    const asked = (JSON.parse(String(sent.body)) as { key: string }).key;
    if (verdict.valid !== working.includes(asked))
      problems.push(
        `verify said valid=${verdict.valid} for ${working.includes(asked) ? 'a working' : 'a dead'} key`,
      );
  }
  // Only a scanner's report changes anything (it is audited, from the API); the keys stay as they were.
  const added = after.audit.slice(before.audit.length);
  for (const row of added) {
    if (path !== '/v1/leaks' || row.source !== 'api')
      problems.push(`${row.action} audited after ${sent.method} ${path}`);
  }
  if (
    JSON.stringify([...before.keys]) !== JSON.stringify([...after.keys]) &&
    added.every((r) => r.action === 'leak_reported')
  )
    problems.push('a key changed');
  if (
    JSON.stringify([...before.secrets]) !== JSON.stringify([...after.secrets]) &&
    added.every((r) => r.action === 'leak_reported')
  )
    problems.push('a secret changed');
  problems.push(...storeInvariants(after));
  return problems;
}

describe('HTTP routes, with any body and any headers', () => {
  it('always answer, never with a 5xx or a key string, let through only trusted callers with working keys, and change nothing but an audited report', async () => {
    let reportsTaken = 0;
    await checkProperty(
      fc.asyncProperty(requestArbitrary(), async (sent) => {
        const before = await readStore(database.db);
        let answer: Answer;
        try {
          answer = await send(sent);
        } catch (error) {
          throw new Error(`${sent.method} ${sent.path}: no answer (${(error as Error).message})`);
        }
        const after = await readStore(database.db);
        if (pathOf(sent) === '/v1/leaks' && answer.status === 200) reportsTaken += 1;
        if (pathOf(sent) === '/v1/leaks') {
          // The one route that stores text from outside (a scanner's URL and source).
          const tables = await tablesText(database.db);
          const stored = [...working, expired].filter((k) => tables.includes(k));
          expect(stored, 'key strings in the tables').toEqual([]);
        }
        expect(
          problemsOf(sent, answer, before, after),
          `${sent.method} ${sent.path} → ${answer.status}`,
        ).toEqual([]);
      }),
      40,
    );
    // The leak route's body handling was reached, not only its 401.
    expect(reportsTaken).toBeGreaterThan(0);
    expect(logs.filter((line) => line.includes('"msg":"request failed"'))).toEqual([]);
    expect((await fetch(`${rekey.url}/healthz`)).status).toBe(200);
  }, 120_000);
});
