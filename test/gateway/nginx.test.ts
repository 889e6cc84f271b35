import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateToken } from '../../src/keys/token.ts';
import { type RekeyProcess, spawnRekey } from '../http/rekey-process.ts';
import { createTestKey } from '../support/fixtures.ts';
import { manualClock } from '../support/manual-clock.ts';
import { PROJECT_ROOT, runCliProcess } from '../support/spawn-rekey.ts';
import { onRealPostgres, openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { testServices } from '../support/test-services.ts';
import { watch } from '../support/watch.ts';
import { type RunningNginx, startGateway } from './nginx.ts';

/** At least 32 characters, as config requires of REKEY_API_TOKENS. */
const GATEWAY_TOKEN = 'nginx-gateway-token-0123456789abcdefghij';

/** The API behind nginx: answers 200 with the headers it received, and remembers every call. */
function startEchoApi(): Promise<{ server: Server; url: string; calls: IncomingHttpHeaders[] }> {
  const calls: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    calls.push(req.headers);
    const body = JSON.stringify({ path: req.url, headers: req.headers });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, url: `127.0.0.1:${(server.address() as AddressInfo).port}`, calls }),
    ),
  );
}

describe.runIf(onRealPostgres)(
  "nginx in front of an API, with the README's auth_request configuration",
  () => {
    let database: TestDatabase;
    let services: ReturnType<typeof testServices>;
    let rekey: RekeyProcess;
    let api: Awaited<ReturnType<typeof startEchoApi>>;
    let started: RunningNginx | undefined;
    /** Why nginx did not start: every test then fails with it (never skipped). */
    let startError: unknown;
    const nginx = () => {
      if (!started) throw startError ?? new Error('nginx was not started');
      return started;
    };

    beforeAll(async () => {
      database = await openTestDatabase();
      services = testServices(database, { clock: manualClock(new Date()) });
      api = await startEchoApi();
      rekey = await spawnRekey({
        DATABASE_URL: database.url!,
        REKEY_API_TOKENS: GATEWAY_TOKEN,
        REKEY_DATA_DIR: '/nonexistent',
        // Counted uses (and their clients) reach the database within a second.
        REKEY_USAGE_FLUSH: '1s',
      });
      try {
        started = await startGateway({ rekey: new URL(rekey.url).host, api: api.url, token: GATEWAY_TOKEN });
      } catch (error) {
        startError = error;
      }
    }, 90_000);
    afterAll(async () => {
      await started?.stop();
      rekey?.child.kill('SIGTERM');
      await rekey?.exited;
      await new Promise((resolve) => api?.server.close(resolve));
      await database?.close();
    });

    const get = async (path: string, headers: Record<string, string> = {}) => {
      const res = await fetch(`${nginx().url}${path}`, { headers });
      const text = await res.text();
      let received: IncomingHttpHeaders | undefined;
      try {
        received = (JSON.parse(text) as { headers?: IncomingHttpHeaders }).headers;
      } catch {}
      return { status: res.status, headers: res.headers, received };
    };

    it('starts nginx with the README’s configuration, unchanged but for addresses and token', () => {
      expect(nginx().url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    });

    it('lets a valid key through to the API, which learns the key id and products', async () => {
      const { token, key } = await createTestKey(services, { products: ['payments-api', 'billing'] });
      const before = api.calls.length;
      const answer = await get('/orders/7', { 'x-api-key': token });
      expect(answer.status, nginx().errorLog()).toBe(200);
      expect(answer.received).toMatchObject({
        'x-rekey-key-id': key.id,
        'x-rekey-products': 'payments-api,billing',
      });
      // The gateway's own credential stays between nginx and rekey.
      expect(answer.received).not.toHaveProperty('x-rekey-gateway-token');
      expect(api.calls.length - before).toBe(1);

      const bearer = await get('/orders/8', { authorization: `Bearer ${token}` });
      expect(bearer.status).toBe(200);
      expect(bearer.received?.['x-rekey-key-id']).toBe(key.id);
    });

    it('does not let a client forge the headers the API trusts', async () => {
      const { token, key } = await createTestKey(services, { products: ['billing'] });
      const answer = await get('/orders/9', {
        'x-api-key': token,
        'x-rekey-key-id': 'someone-else',
        'x-rekey-products': 'payments-api',
      });
      expect(answer.status).toBe(200);
      expect(answer.received?.['x-rekey-key-id']).toBe(key.id);
      expect(answer.received?.['x-rekey-products']).toBe('billing');
    });

    it('refuses no key, a typo’d key and an unknown key with 401, without calling the API', async () => {
      const { token } = await createTestKey(services);
      const typo = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
      const before = api.calls.length;
      const cases: Array<[Record<string, string>, string]> = [
        [{}, 'MISSING'],
        [{ 'x-api-key': typo }, 'MALFORMED'],
        [{ 'x-api-key': generateToken('rk_live').token }, 'NOT_FOUND'],
      ];
      for (const [headers, code] of cases) {
        const answer = await get('/orders/1', headers);
        expect(answer.status, code).toBe(401);
        expect(answer.headers.get('x-rekey-code')).toBe(code);
      }
      expect((await get('/orders/1', {})).headers.get('www-authenticate')).toBe('Bearer realm="api"');
      expect(api.calls.length).toBe(before);
    });

    it('refuses a key without the route’s product with 403, and lets one with it through', async () => {
      const { token: billingOnly } = await createTestKey(services, { products: ['billing'] });
      const { token: payments } = await createTestKey(services, { products: ['payments-api'] });
      const before = api.calls.length;
      const refused = await get('/payments/charge', { 'x-api-key': billingOnly });
      expect(refused.status).toBe(403);
      expect(refused.headers.get('x-rekey-code')).toBe('PRODUCT');
      expect(api.calls.length).toBe(before);
      // The same key is fine on a route that names no product.
      expect((await get('/orders/2', { 'x-api-key': billingOnly })).status).toBe(200);
      expect((await get('/payments/charge', { 'x-api-key': payments })).status).toBe(200);
    });

    it('asks rekey with the client’s address as nginx saw it (not one the client forged), its user agent, and the original URI and method', async () => {
      // The same block with an echo server in rekey's place, to see the question exactly as sent.
      const spy = await startEchoApi();
      const spied = await startGateway({ rekey: spy.url, api: api.url, token: GATEWAY_TOKEN });
      try {
        const answer = await fetch(`${spied.url}/payments/charge?id=7`, {
          method: 'POST',
          body: 'amount=12',
          headers: {
            'x-api-key': 'rk_live_whatever',
            'user-agent': 'python-requests/2.31',
            'x-forwarded-for': '203.0.113.66',
            'x-real-ip': '203.0.113.67',
          },
        });
        expect(answer.status, spied.errorLog()).toBe(200);
        expect(spy.calls).toHaveLength(1);
        expect(spy.calls[0]).toMatchObject({
          'x-forwarded-for': '127.0.0.1',
          'x-real-ip': '127.0.0.1',
          'user-agent': 'python-requests/2.31',
          'x-original-uri': '/payments/charge?id=7',
          'x-original-method': 'POST',
          'x-rekey-gateway-token': GATEWAY_TOKEN,
          'x-rekey-product': 'payments-api',
          'x-api-key': 'rk_live_whatever',
        });
        expect(spy.calls[0]).not.toHaveProperty('content-length');
      } finally {
        await spied.stop();
        await new Promise((resolve) => spy.server.close(resolve));
      }
    });

    it('lets rekey name the client that still sends a key: its address and user agent, through nginx', async () => {
      const { token, key } = await createTestKey(services);
      for (let i = 0; i < 3; i++) {
        const answer = await get('/orders/5', {
          'x-api-key': token,
          'user-agent': 'python-requests/2.31',
          'x-forwarded-for': '203.0.113.66',
        });
        expect(answer.status).toBe(200);
      }
      const clientsOf = async () => {
        services.clock.set(new Date());
        return (await services.showKeyWithUse({ id: key.id })).current!.clients;
      };
      const deadline = performance.now() + 10_000;
      let clients = await clientsOf();
      while (clients.length === 0 && performance.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        clients = await clientsOf();
      }
      expect(clients).toEqual([
        { ip: '127.0.0.1', userAgent: 'python-requests/2.31', uses: 3, lastUsedAt: expect.any(Date) },
      ]);
    });

    it('keeps old and new keys working through `keys rotate --delay 1h`', async () => {
      const { token: oldToken, key } = await createTestKey(services);
      expect((await get('/orders/3', { 'x-api-key': oldToken })).status).toBe(200);
      const cli = await runCliProcess(['keys', 'rotate', key.name, '--delay', '1h', '--yes', '--json'], {
        cwd: PROJECT_ROOT,
        env: { DATABASE_URL: database.url! },
      });
      expect(cli.code, cli.stderr).toBe(0);
      const newToken = (JSON.parse(cli.stdout) as { token: string }).token;
      expect(newToken).not.toBe(oldToken);
      const old = await get('/orders/3', { 'x-api-key': oldToken });
      expect(old.status).toBe(200);
      expect(old.received?.['x-rekey-key-id']).toBe(key.id);
      const fresh = await get('/orders/3', { 'x-api-key': newToken });
      expect(fresh.status).toBe(200);
      expect(fresh.received?.['x-rekey-key-id']).toBe(key.id);
    });

    it('refuses the old key within 1 s of `keys rotate --delay now` in another process', async () => {
      const { token, key } = await createTestKey(services);
      // Twice: rekey now has the key cached as valid, so only the invalidation can change its answer.
      for (let i = 0; i < 2; i++) expect((await get('/orders/4', { 'x-api-key': token })).status).toBe(200);
      // Watched through nginx from before the CLI starts, so the refusal is seen when it begins.
      const rotating = runCliProcess(['keys', 'rotate', key.name, '--delay', 'now', '--yes', '--json'], {
        cwd: PROJECT_ROOT,
        env: { DATABASE_URL: database.url! },
      });
      const watched = watch(
        () => get('/orders/4', { 'x-api-key': token }),
        (answer) => answer.status === 401,
        { after: rotating, timeoutMs: 3_000 },
      );
      const cli = await rotating;
      expect(cli.code, cli.stderr).toBe(0);
      const { value: seen, seenAt } = await watched;
      expect(seen.status).toBe(401);
      expect(seen.headers.get('x-rekey-code')).toBe('EXPIRED');
      // From the rotation's commit (its audit row, written by the CLI in that transaction).
      const rotatedAt = (await services.keyAudit({ name: key.name })).events.find(
        (e) => e.action === 'rotate',
      )!.at;
      expect(seenAt! - rotatedAt.getTime()).toBeLessThan(1_000);
      const newToken = (JSON.parse(cli.stdout) as { token: string }).token;
      expect((await get('/orders/4', { 'x-api-key': newToken })).status).toBe(200);
    });
  },
);
