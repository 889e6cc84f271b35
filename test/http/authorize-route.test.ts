import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.ts';
import { generateToken } from '../../src/keys/token.ts';
import { createLogger } from '../../src/logger.ts';
import { createTestKey, rotateTestKey } from '../support/fixtures.ts';
import { HOUR, MINUTE } from '../support/manual-clock.ts';
import { openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { testServices } from '../support/test-services.ts';
import { askAuthorize, GATEWAY_TOKEN, startAuthorizeServer } from './authorize-server.ts';

let database: TestDatabase;
let services: ReturnType<typeof testServices>;
let server: Awaited<ReturnType<typeof startAuthorizeServer>>;
const logLines: Array<{ msg: string; refused?: number; level: number }> = [];

beforeAll(async () => {
  database = await openTestDatabase();
  services = testServices(database);
  const logger = createLogger('info', {
    write: (line: string) => {
      logLines.push(JSON.parse(line));
    },
  });
  server = await startAuthorizeServer({ database, changes: services.changes, clock: services.clock, logger });
});
afterAll(async () => {
  await server?.close();
  await database?.close();
});

const rekeyHeaders = (answer: { headers: Headers }) =>
  Object.fromEntries([...answer.headers].filter(([name]) => name.startsWith('x-rekey-')));

describe('/v1/keys/authorize (forward authorisation for gateways)', () => {
  it('lets a valid key through with 200, an empty body and the key described in headers', async () => {
    const { token, key } = await createTestKey(services, { products: ['payments-api', 'billing'] });
    // Twice: the first is a cache miss (asks the database), the second is answered from the cache.
    for (let i = 0; i < 2; i++) {
      const answer = await askAuthorize(server.url, { 'x-api-key': token });
      expect(answer.status).toBe(200);
      expect(answer.body).toBe('');
      expect(rekeyHeaders(answer)).toEqual({
        'x-rekey-key-id': key.id,
        'x-rekey-key-name': key.name,
        'x-rekey-products': 'payments-api,billing',
        'x-rekey-status': 'active',
      });
    }
  });

  it('reads the key from Authorization: Bearer when there is no X-Api-Key, and prefers X-Api-Key', async () => {
    const { token, key } = await createTestKey(services);
    const bearer = await askAuthorize(server.url, { authorization: `Bearer ${token}` });
    expect(bearer.status).toBe(200);
    expect(bearer.headers.get('x-rekey-key-id')).toBe(key.id);
    const both = await askAuthorize(server.url, {
      'x-api-key': token,
      authorization: `Bearer ${generateToken('rk_live').token}`,
    });
    expect(both.status).toBe(200);
    expect(both.headers.get('x-rekey-key-id')).toBe(key.id);
  });

  it('answers any method, on every path below it and with a query string, but not on look-alike paths', async () => {
    const { token } = await createTestKey(services);
    for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
      for (const path of ['/v1/keys/authorize', '/v1/keys/authorize/orders/42', '/v1/keys/authorize?x=1']) {
        const answer = await askAuthorize(server.url, { 'x-api-key': token }, { method, path });
        expect(answer.status, `${method} ${path}`).toBe(200);
        expect(answer.headers.get('x-rekey-status'), `${method} ${path}`).toBe('active');
      }
    }
    const lookAlike = await askAuthorize(server.url, { 'x-api-key': token }, { path: '/v1/keys/authorizer' });
    expect(lookAlike.status).toBe(404);
  });

  it('ignores a request body, however large, and keeps the connection usable', async () => {
    const { token } = await createTestKey(services);
    const big = 'x'.repeat(2_000_000);
    const { port } = new URL(server.url);
    const statuses = await new Promise<number[]>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        const head = (length: number) =>
          `POST /v1/keys/authorize/upload HTTP/1.1\r\nHost: x\r\nX-Rekey-Gateway-Token: ${GATEWAY_TOKEN}\r\n` +
          `X-Api-Key: ${token}\r\nContent-Length: ${length}\r\n\r\n`;
        socket.write(head(big.length) + big);
        socket.write(head(0));
      });
      let text = '';
      socket.on('data', (chunk) => {
        text += chunk.toString('latin1');
        const found = [...text.matchAll(/^HTTP\/1\.1 (\d+)/gm)].map((m) => Number(m[1]));
        if (found.length === 2) {
          socket.destroy();
          resolve(found);
        }
      });
      socket.on('error', reject);
    });
    expect(statuses).toEqual([200, 200]);
  });

  it('refuses a request without the key with 401 MISSING and a WWW-Authenticate challenge', async () => {
    const withoutKey: Array<Record<string, string>> = [
      {},
      { 'x-api-key': '' },
      { authorization: 'Basic dXNlcjpwYXNz' },
      { authorization: 'Bearer ' },
    ];
    for (const headers of withoutKey) {
      const answer = await askAuthorize(server.url, headers);
      expect(answer.status).toBe(401);
      expect(answer.headers.get('x-rekey-code')).toBe('MISSING');
      expect(answer.headers.get('www-authenticate')).toBe('Bearer realm="api"');
      expect(JSON.parse(answer.body)).toMatchObject({ error: 'unauthorized', code: 'MISSING' });
      expect(answer.body).not.toContain('\n');
    }
  });

  it('refuses malformed, unknown and expired keys with 401 and the verify code, never echoing the key', async () => {
    const { token, key } = await createTestKey(services);
    await rotateTestKey(services, { id: key.id }, 'now');
    const typo = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
    const unknown = generateToken('rk_live').token;
    const cases: Array<[string, string]> = [
      [typo, 'MALFORMED'],
      ['not-a-key', 'MALFORMED'],
      [unknown, 'NOT_FOUND'],
      [token, 'EXPIRED'],
    ];
    for (const [presented, code] of cases) {
      const answer = await askAuthorize(server.url, { 'x-api-key': presented });
      expect(answer.status, code).toBe(401);
      expect(answer.headers.get('x-rekey-code')).toBe(code);
      expect(answer.headers.get('www-authenticate')).toBe('Bearer realm="api", error="invalid_token"');
      expect(JSON.parse(answer.body)).toMatchObject({ error: 'unauthorized', code });
      expect(answer.body).not.toContain(presented);
      expect(answer.headers.get('x-rekey-key-id')).toBeNull();
    }
  });

  it('keeps the old key working, marked expiring, until the grace period ends, then refuses it', async () => {
    const { token: oldToken, key } = await createTestKey(services);
    expect((await askAuthorize(server.url, { 'x-api-key': oldToken })).status).toBe(200);
    const rotation = await rotateTestKey(services, { id: key.id }, '1h');
    const expiresAt = new Date(services.clock.now().getTime() + HOUR).toISOString();

    const old = await askAuthorize(server.url, { 'x-api-key': oldToken });
    expect(old.status).toBe(200);
    expect(old.headers.get('x-rekey-status')).toBe('expiring');
    expect(old.headers.get('x-rekey-expires-at')).toBe(expiresAt);
    const fresh = await askAuthorize(server.url, { authorization: `Bearer ${rotation.token}` });
    expect(fresh.status).toBe(200);
    expect(fresh.headers.get('x-rekey-status')).toBe('active');
    expect(fresh.headers.get('x-rekey-expires-at')).toBeNull();

    services.clock.advance(HOUR);
    const after = await askAuthorize(server.url, { 'x-api-key': oldToken });
    expect(after.status).toBe(401);
    expect(after.headers.get('x-rekey-code')).toBe('EXPIRED');
    expect((await askAuthorize(server.url, { 'x-api-key': rotation.token })).status).toBe(200);
  });

  it('refuses a key without the product the gateway names for the route with 403 PRODUCT', async () => {
    const { token } = await createTestKey(services, { products: ['billing'] });
    const allowed = await askAuthorize(server.url, { 'x-api-key': token, 'x-rekey-product': 'billing' });
    expect(allowed.status).toBe(200);
    const refused = await askAuthorize(server.url, { 'x-api-key': token, 'x-rekey-product': 'payments-api' });
    expect(refused.status).toBe(403);
    expect(refused.headers.get('x-rekey-code')).toBe('PRODUCT');
    expect(JSON.parse(refused.body)).toMatchObject({ error: 'forbidden', code: 'PRODUCT' });
    expect(refused.headers.get('x-rekey-key-id')).toBeNull();
    // A bad key is a bad key first: 401, whatever product the route needs.
    const unknown = await askAuthorize(server.url, {
      'x-api-key': generateToken('rk_live').token,
      'x-rekey-product': 'billing',
    });
    expect(unknown.status).toBe(401);
  });

  it('refuses an untrusted gateway with 403 GATEWAY_TOKEN before looking at the key, logging once a minute', async () => {
    const { token } = await createTestKey(services);
    const refusalLogs = () => logLines.filter((line) => line.msg.includes('X-Rekey-Gateway-Token'));
    const before = refusalLogs().length;
    for (const gatewayToken of [null, '', 'wrong', `${GATEWAY_TOKEN}x`, `Bearer ${GATEWAY_TOKEN}`]) {
      const answer = await askAuthorize(server.url, { 'x-api-key': token }, { gatewayToken });
      expect(answer.status, String(gatewayToken)).toBe(403);
      expect(answer.headers.get('x-rekey-code')).toBe('GATEWAY_TOKEN');
      expect(JSON.parse(answer.body)).toMatchObject({ error: 'forbidden', code: 'GATEWAY_TOKEN' });
      expect(answer.headers.get('x-rekey-key-id')).toBeNull();
    }
    // The client's own Authorization header is the client's key, never the gateway's credential.
    const clientBearer = await askAuthorize(
      server.url,
      { authorization: `Bearer ${GATEWAY_TOKEN}` },
      { gatewayToken: null },
    );
    expect(clientBearer.status).toBe(403);
    expect(refusalLogs().length - before).toBe(1);

    services.clock.advance(MINUTE);
    await askAuthorize(server.url, { 'x-api-key': token }, { gatewayToken: 'wrong' });
    const logs = refusalLogs();
    expect(logs.length - before).toBe(2);
    // The second line counts every refusal since the first, the quiet ones included.
    expect(logs.at(-1)).toMatchObject({ refused: 6 });
    expect(JSON.stringify(logs)).not.toContain(token);
    expect(JSON.stringify(logs)).not.toContain('wrong');
  });

  it('counts its verifications in the same metrics as /v1/keys/verify', async () => {
    const scrape = async () => (await fetch(`${server.url}/metrics`)).text();
    const count = (text: string, line: RegExp) => Number(line.exec(text)?.[1] ?? 0);
    const timed = /^rekey_verify_duration_seconds_count (\d+)$/m;
    const active = /^rekey_verify_total\{outcome="active"\} (\d+)$/m;
    const notFound = /^rekey_verify_total\{outcome="NOT_FOUND"\} (\d+)$/m;
    const { token } = await createTestKey(services, { products: ['billing'] });
    const before = await scrape();
    await askAuthorize(server.url, { 'x-api-key': token });
    await askAuthorize(server.url, { 'x-api-key': token, 'x-rekey-product': 'elsewhere' });
    await askAuthorize(server.url, { 'x-api-key': generateToken('rk_live').token });
    // Not verifications: no key, or an untrusted gateway.
    await askAuthorize(server.url, {});
    await askAuthorize(server.url, { 'x-api-key': token }, { gatewayToken: null });
    const after = await scrape();
    expect(count(after, active) - count(before, active)).toBe(2);
    expect(count(after, notFound) - count(before, notFound)).toBe(1);
    expect(count(after, timed) - count(before, timed)).toBe(3);
  });

  it('gives each of many simultaneous questions its own answer', async () => {
    const keys = await Promise.all(
      Array.from({ length: 8 }, (_, i) => createTestKey(services, { products: [`p${i}`] })),
    );
    const asks = Array.from({ length: 96 }, (_, i) => {
      const { token, key } = keys[i % keys.length]!;
      if (i % 3 === 2) return { key: generateToken('rk_live').token, status: 401, id: null };
      return { key: token, status: 200, id: key.id };
    });
    for (let pass = 0; pass < 2; pass++) {
      const answers = await Promise.all(
        asks.map(({ key }) => askAuthorize(server.url, { 'x-api-key': key })),
      );
      answers.forEach((answer, i) => {
        expect(answer.status).toBe(asks[i]!.status);
        expect(answer.headers.get('x-rekey-key-id')).toBe(asks[i]!.id);
      });
    }
  });
});

describe('/v1/keys/authorize when the database is unreachable', () => {
  let down: Awaited<ReturnType<typeof startAuthorizeServer>>;
  beforeAll(async () => {
    down = await startAuthorizeServer({
      database,
      changes: services.changes,
      clock: services.clock,
      verifier: {
        verify: () => Promise.reject(new AppError('DATABASE_UNAVAILABLE', 'database unreachable')),
        verifyNow: () => undefined,
      },
    });
  });
  afterAll(async () => {
    await down?.close();
  });

  it('answers 503 with Retry-After, never a verdict, so gateways fail closed', async () => {
    const { token } = await createTestKey(services);
    const answer = await askAuthorize(down.url, { 'x-api-key': token });
    expect(answer.status).toBe(503);
    expect(answer.headers.get('retry-after')).toBe('1');
    expect(answer.headers.get('x-rekey-code')).toBe('UNAVAILABLE');
    expect(answer.headers.get('x-rekey-key-id')).toBeNull();
    expect(answer.body).toBe('');
    const metrics = await (await fetch(`${down.url}/metrics`)).text();
    expect(metrics).toMatch(/^rekey_verify_total\{outcome="UNAVAILABLE"\} 1$/m);
  });
});
