import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { sendJson } from '../../src/http/respond.ts';
import { createHttpServer, type HttpServerDeps, type RouteHandler } from '../../src/http/server.ts';
import { createLogger } from '../../src/logger.ts';
import { createMetrics } from '../../src/metrics.ts';

let running: Server[] = [];
afterEach(async () => {
  for (const server of running) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  running = [];
});

/** A server whose handlers each answer with their own name, so a test sees which one a path reached. */
async function serve(deps: Partial<HttpServerDeps> = {}): Promise<string> {
  const named =
    (name: string): RouteHandler =>
    (req, res) =>
      sendJson(res, 200, { route: name, url: req.url });
  const server = createHttpServer({
    logger: createLogger('silent'),
    metrics: createMetrics(),
    verify: named('verify'),
    authorize: named('authorize'),
    ready: () => true,
    slack: named('slack'),
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

  it('answers any other method on /v1/keys/verify with 405 naming POST', async () => {
    const url = await serve();
    expect(await call(`${url}/v1/keys/verify`)).toEqual({
      status: 405,
      body: { error: 'method_not_allowed' },
      allow: 'POST',
    });
  });

  it('sends /v1/keys/authorize and every path below it, any method, to the authorize route', async () => {
    const url = await serve();
    for (const path of ['/v1/keys/authorize', '/v1/keys/authorize/payments/v2', '/v1/keys/authorize?x=1']) {
      expect((await call(`${url}${path}`, { method: 'PUT' })).body, path).toMatchObject({
        route: 'authorize',
      });
    }
    expect((await call(`${url}/v1/keys/authorizeX`)).status).toBe(404);
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

  it("serves local mode's extra paths, but never lets one shadow a built-in route", async () => {
    const extra = new Map<string, RouteHandler>([
      ['/', (_req, res) => sendJson(res, 200, { route: 'page' })],
      ['/healthz', (_req, res) => sendJson(res, 200, { route: 'shadow' })],
    ]);
    const url = await serve({ extra });
    expect((await call(`${url}/?user=U0ADA`)).body).toEqual({ route: 'page' });
    expect((await call(`${url}/healthz`)).body).toEqual({ ok: true });
  });

  it('answers 404 for a path no route serves', async () => {
    const url = await serve();
    expect(await call(`${url}/v2/keys`)).toMatchObject({ status: 404, body: { error: 'not_found' } });
  });

  it('answers 500 without details when a route fails, synchronously or not, and keeps serving', async () => {
    const extra = new Map<string, RouteHandler>([
      [
        '/throws',
        () => {
          throw new Error('boom');
        },
      ],
      ['/rejects', async () => Promise.reject(new Error('boom'))],
    ]);
    const url = await serve({ extra });
    expect(await call(`${url}/throws`)).toMatchObject({ status: 500, body: { error: 'internal' } });
    expect(await call(`${url}/rejects`)).toMatchObject({ status: 500, body: { error: 'internal' } });
    expect((await call(`${url}/healthz`)).status).toBe(200);
  });
});
