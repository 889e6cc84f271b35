import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_USER_AGENT } from '../../src/http/client-identity.ts';
import { UsageCounter } from '../../src/services/usage-counter.ts';
import type { ClientCount } from '../../src/store/usage-store.ts';
import { createTestKey } from '../support/fixtures.ts';
import { openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { testServices } from '../support/test-services.ts';
import { GATEWAY_TOKEN, startAuthorizeServer } from './authorize-server.ts';
import { postVerify } from './verify-server.ts';

let database: TestDatabase;
let services: ReturnType<typeof testServices>;
let server: Awaited<ReturnType<typeof startAuthorizeServer>>;
const usage = new UsageCounter();
beforeAll(async () => {
  database = await openTestDatabase();
  services = testServices(database);
  server = await startAuthorizeServer({ database, changes: services.changes, clock: services.clock, usage });
});
afterAll(async () => {
  await server?.close();
  await database?.close();
});

const verify = (body: unknown) => postVerify(server.url, body as object, `Bearer ${GATEWAY_TOKEN}`);
/** What the counter would write for these secrets, client by client (the flusher's view). */
const clientsCounted = (secretId: string): Array<Omit<ClientCount, 'lastUsedAt'>> =>
  usage
    .drain()
    .filter((c) => c.secretId === secretId)
    .flatMap((c) => c.clients ?? [])
    .map(({ ip, userAgent, uses }) => ({ ip, userAgent, uses }))
    .sort((a, b) => b.uses - a.uses || String(b.ip).localeCompare(String(a.ip)));

describe('who presented a key, as the gateway passes it on', () => {
  it('verify counts the body’s "client", and a key sent without one as the unknown client', async () => {
    const { token, key } = await createTestKey(services);
    const client = { ip: '10.0.3.7', userAgent: 'python-requests/2.31' };
    for (let i = 0; i < 3; i++)
      expect((await verify({ key: token, client })).json).toMatchObject({ valid: true });
    // Another spelling of the same JSON, and an IPv6 client with only an address.
    expect(
      (await verify(`{ "client": {"userAgent":"python-requests/2.31","ip":"10.0.3.7"}, "key": "${token}" }`))
        .status,
    ).toBe(200);
    expect((await verify({ key: token, client: { ip: '2001:db8::7' } })).status).toBe(200);
    expect((await verify({ key: token })).status).toBe(200);
    const secretId = (await services.showKey({ id: key.id })).current!.id;
    expect(clientsCounted(secretId)).toEqual([
      { ip: '10.0.3.7', userAgent: 'python-requests/2.31', uses: 4 },
      { ip: null, userAgent: null, uses: 1 },
      { ip: '2001:db8::7', userAgent: null, uses: 1 },
    ]);
  });

  it('verify answers 400 for a "client" that is not an address and a short user agent, and counts nothing', async () => {
    const { token } = await createTestKey(services);
    usage.drain();
    for (const client of [
      { ip: 'not-an-address' },
      { ip: '10.0.3.7, 10.0.0.1' },
      { ip: 7 },
      { userAgent: 'x'.repeat(MAX_USER_AGENT + 1) },
      { userAgent: 42 },
      { ip: '10.0.3.7', extra: true },
      // A zone any length (which could carry a key's body) and text PostgreSQL cannot store or that
      // would add lines to a card.
      { ip: `fe80::1%${'A'.repeat(40)}` },
      { userAgent: 'curl/8\u0000' },
      { userAgent: 'curl/8\n*Rotate now*' },
      'python-requests',
      null,
      [],
    ]) {
      const answer = await verify({ key: token, client });
      expect(answer.status, JSON.stringify(client)).toBe(400);
      expect(answer.json).toMatchObject({ error: 'bad_request' });
      expect(String(answer.json.message)).toContain('"client"');
      expect(answer.json).not.toHaveProperty('valid');
    }
    // Byte for byte as a gateway writes it, with an address that is not one.
    expect(
      (await verify(`{"key":"${token}","client":{"ip":"1:2:3:4:5:6:7:8:9","userAgent":"x"}}`)).status,
    ).toBe(400);
    expect(usage.pending).toBe(0);
    expect(usage.drain()).toEqual([]);
  });

  it('authorize counts X-Forwarded-For’s first address (else X-Real-IP) and the User-Agent', async () => {
    const { token, key } = await createTestKey(services);
    const ask = (headers: Record<string, string>) =>
      fetch(`${server.url}/v1/keys/authorize`, {
        headers: { 'x-rekey-gateway-token': GATEWAY_TOKEN, 'x-api-key': token, ...headers },
      }).then((r) => r.status);
    expect(
      await ask({ 'x-forwarded-for': '10.0.3.7, 172.16.0.1', 'user-agent': 'python-requests/2.31' }),
    ).toBe(200);
    expect(await ask({ 'x-forwarded-for': '10.0.3.7', 'user-agent': 'python-requests/2.31' })).toBe(200);
    expect(await ask({ 'x-real-ip': '192.0.2.4', 'user-agent': 'Go-http-client/1.1' })).toBe(200);
    // A forwarded value that is no address is nobody's; fetch sends its own user agent otherwise.
    expect(await ask({ 'x-forwarded-for': 'unknown', 'user-agent': '' })).toBe(200);
    const secretId = (await services.showKey({ id: key.id })).current!.id;
    expect(clientsCounted(secretId)).toEqual([
      { ip: '10.0.3.7', userAgent: 'python-requests/2.31', uses: 2 },
      { ip: null, userAgent: null, uses: 1 },
      { ip: '192.0.2.4', userAgent: 'Go-http-client/1.1', uses: 1 },
    ]);
  });

  it('is documented in /openapi.json: verify’s optional "client", authorize’s client headers', async () => {
    // biome-ignore lint/suspicious/noExplicitAny: walking a JSON document as served
    const served = (await (await fetch(`${server.url}/openapi.json`)).json()) as any;
    const body = served.paths['/v1/keys/verify'].post.requestBody.content['application/json'].schema;
    expect(body.required).toEqual(['key']);
    expect(body.properties.client).toMatchObject({
      type: 'object',
      additionalProperties: false,
      properties: { ip: { type: 'string' }, userAgent: { type: 'string', maxLength: MAX_USER_AGENT } },
    });
    const headers = served.components.pathItems.Authorize.get.parameters.map((p: { name: string }) => p.name);
    expect(headers).toEqual(expect.arrayContaining(['X-Forwarded-For', 'X-Real-IP', 'User-Agent']));
  });
});
