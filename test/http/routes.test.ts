import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { sendJson } from '../../src/http/respond.ts';
import type { PathRoute } from '../../src/http/routes.ts';
import { createHttpServer, type HttpServerDeps, type RouteHandler } from '../../src/http/server.ts';
import { createMetrics } from '../../src/metrics.ts';

let running: Server[] = [];
afterEach(async () => {
  for (const server of running) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  running = [];
});

let logs: string[] = [];

/** A server whose handlers each answer with their own name, so a test sees which one a path reached. */
async function serve(deps: Partial<HttpServerDeps> = {}): Promise<string> {
  const named =
    (name: string): RouteHandler =>
    (req, res) =>
      sendJson(res, 200, { route: name, url: req.url });
  logs = [];
  const server = createHttpServer({
    logger: pino({ level: 'info' }, { write: (line: string) => logs.push(line) }),
    metrics: createMetrics(),
    verify: named('verify'),
    authorize: named('authorize'),
    ready: () => true,
    slack: named('slack'),
    leaks: named('leaks'),
    ...deps,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  running.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function call(
  url: string,
  init?: RequestInit,
): Promise<{ status: number; body: unknown; allow: string | null }> {
  const response = await fetch(url, init);
  const text = await response.text();
  return {
    status: response.status,
    body: text ? JSON.parse(text) : null,
    allow: response.headers.get('allow'),
  };
}

describe('the HTTP route table', () => {
  it('sends POST /v1/keys/verify to the verify route, with or without a query string', async () => {
    const url = await serve();
    expect((await call(`${url}/v1/keys/verify`, { method: 'POST', body: '{}' })).body).toEqual({
      route: 'verify',
      url: '/v1/keys/verify',
    });
    expect((await call(`${url}/v1/keys/verify?trace=1`, { method: 'POST', body: '{}' })).body).toEqual({
      route: 'verify',
      url: '/v1/keys/verify?trace=1',
    });
  });

  it('answers a method a path does not take with 405 and Allow, before its handler runs', async () => {
    const url = await serve();
    for (const [path, method, allow] of [
      ['/v1/keys/verify', 'GET', 'POST'],
      ['/v1/keys/verify?trace=1', 'PUT', 'POST'],
      ['/slack/events', 'GET', 'POST'],
      ['/slack/events', 'HEAD', 'POST'],
      ['/v1/leaks', 'DELETE', 'POST'],
      ['/healthz', 'POST', 'GET, HEAD'],
      ['/openapi.json', 'OPTIONS', 'GET, HEAD'],
    ] as const) {
      const answer = await call(`${url}${path}`, { method });
      expect(answer.status, `${method} ${path}`).toBe(405);
      expect(answer.allow, `${method} ${path}`).toBe(allow);
      if (method !== 'HEAD')
        expect(answer.body, `${method} ${path}`).toMatchObject({ error: 'method_not_allowed' });
    }
  });

  it('answers HEAD wherever it answers GET, with the headers and no body', async () => {
    const url = await serve();
    const head = await fetch(`${url}/healthz`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get('content-length'))).toBeGreaterThan(0);
    expect(await head.text()).toBe('');
  });

  it('sends /v1/keys/authorize and every path below it, any method, to the authorize route', async () => {
    const url = await serve();
    for (const path of [
      '/v1/keys/authorize',
      '/v1/keys/authorize/',
      '/v1/keys/authorize/payments/v2',
      '/v1/keys/authorize?x=1',
    ]) {
      for (const method of ['GET', 'PUT', 'OPTIONS', 'DELETE']) {
        expect((await call(`${url}${path}`, { method })).body, `${method} ${path}`).toMatchObject({
          route: 'authorize',
        });
      }
    }
    expect((await call(`${url}/v1/keys/authorizeX`)).status).toBe(404);
  });

  it('ignores the query string and treats a trailing slash as another path (404, not a redirect)', async () => {
    const url = await serve();
    expect(await call(`${url}/healthz?probe=1`)).toMatchObject({ status: 200, body: { ok: true } });
    for (const path of ['/healthz/', '/v1/keys/verify/', '/slack/events/', '/v1/leaks/', '//healthz']) {
      expect((await call(`${url}${path}`, { method: 'POST', body: '{}' })).status, path).toBe(404);
    }
  });

  it('serves health, readiness, metrics and the OpenAPI document', async () => {
    const url = await serve({ ready: () => false });
    expect(await call(`${url}/healthz`)).toMatchObject({ status: 200, body: { ok: true } });
    expect(await call(`${url}/readyz`)).toMatchObject({ status: 503, body: { ready: false } });
    expect((await fetch(`${url}/metrics`)).status).toBe(200);
    expect((await call(`${url}/openapi.json`)).body).toMatchObject({ openapi: '3.1.0' });
  });

  it('hands /slack/events to Bolt only when Slack is wired', async () => {
    const withSlack = await serve();
    expect((await call(`${withSlack}/slack/events`, { method: 'POST', body: 'x=1' })).body).toMatchObject({
      route: 'slack',
    });
    const without = await serve({ slack: undefined });
    expect((await call(`${without}/slack/events`, { method: 'POST', body: 'x=1' })).status).toBe(404);
  });

  it("serves local mode's pages with their methods, and refuses a page on a built-in route's path", async () => {
    const page = (path: string, methods: PathRoute['methods']): PathRoute => ({
      path,
      methods,
      handle: (_req, res) => sendJson(res, 200, { route: path }),
    });
    const url = await serve({ pages: [page('/', ['GET']), page('/local/api/message', ['POST'])] });
    expect((await call(`${url}/?user=U0ADA`)).body).toEqual({ route: '/' });
    expect(await call(`${url}/local/api/message`)).toMatchObject({ status: 405, allow: 'POST' });
    await expect(serve({ pages: [page('/healthz', ['GET'])] })).rejects.toThrow(
      'two HTTP routes on /healthz',
    );
  });

  it('leaves out the routes it is told not to serve: they answer 404 like any unknown path', async () => {
    const url = await serve({ serves: (route) => route.part !== 'slack' && route.part !== 'leaks' });
    expect((await call(`${url}/slack/events`, { method: 'POST', body: 'x=1' })).status).toBe(404);
    expect((await call(`${url}/slack/events`)).status).toBe(404);
    expect((await call(`${url}/v1/leaks`, { method: 'POST', body: '[]' })).status).toBe(404);
    expect((await call(`${url}/v1/keys/verify`, { method: 'POST', body: '{}' })).body).toMatchObject({
      route: 'verify',
    });
  });

  it('answers 404 for a path no route serves', async () => {
    const url = await serve();
    expect(await call(`${url}/v2/keys`)).toMatchObject({ status: 404, body: { error: 'not_found' } });
  });

  it('answers 500 without details when a route fails, synchronously or not, logs it with its route, and keeps serving', async () => {
    const throws: RouteHandler = () => {
      throw new Error('boom');
    };
    const rejects: RouteHandler = async () => Promise.reject(new Error('boom'));
    const url = await serve({
      pages: [
        { path: '/throws', methods: ['GET'], handle: throws },
        { path: '/rejects', methods: ['GET'], handle: rejects },
      ],
      verify: throws,
      authorize: throws,
    });
    expect(await call(`${url}/throws`)).toMatchObject({ status: 500, body: { error: 'internal' } });
    expect(await call(`${url}/rejects`)).toMatchObject({ status: 500, body: { error: 'internal' } });
    expect(await call(`${url}/v1/keys/verify`, { method: 'POST', body: '{}' })).toMatchObject({
      status: 500,
    });
    expect(await call(`${url}/v1/keys/authorize/x`)).toMatchObject({ status: 500 });
    expect((await call(`${url}/healthz`)).status).toBe(200);
    const failures = logs.map((line) => JSON.parse(line)).filter((l) => l.msg === 'request failed');
    expect(failures.map((l) => `${l.method} ${l.route} ${l.err.message}`)).toEqual([
      'GET /throws boom',
      'GET /rejects boom',
      'POST /v1/keys/verify boom',
      'GET /v1/keys/authorize boom',
    ]);
  });

  it("answers 500 when Bolt's listener throws once the Slack body has arrived, and keeps serving", async () => {
    // Bolt's HTTPReceiver is called from the body's `end` event, outside the server's own call: a
    // throw there (as it throws for a method it does not handle) once reached no one and ended the process.
    const url = await serve({
      slack: () => {
        throw new Error('Unhandled HTTP request (POST) made to /slack/events');
      },
    });
    expect(await call(`${url}/slack/events`, { method: 'POST', body: 'x=1' })).toMatchObject({
      status: 500,
      body: { error: 'internal' },
    });
    expect((await call(`${url}/healthz`)).status).toBe(200);
    expect(logs.some((line) => line.includes('"route":"/slack/events"'))).toBe(true);
  });
});
