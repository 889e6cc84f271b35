import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Clock } from '../../src/clock.ts';
import { createHttpServer } from '../../src/http/server.ts';
import { createVerifyRoute } from '../../src/http/verify-route.ts';
import { createLogger } from '../../src/logger.ts';
import { createMetrics, type Metrics } from '../../src/metrics.ts';
import type { KeyChanges } from '../../src/services/key-changes.ts';
import type { Database } from '../../src/store/database.ts';
import { startVerifyPath, type VerifyPath } from '../../src/verify-wiring.ts';

export const API_TOKEN = 'test-api-token-0123456789abcdefghij';

/** The verify API alone (the same pieces startRekey wires), on a free loopback port. */
export async function startVerifyServer(options: {
  database: Database;
  changes: KeyChanges;
  clock: Clock;
  heartbeatMs?: number;
  /** Ruled-out keys still looked up per second (0: the filter answers alone, as in a flood). */
  filterConfirmPerSecond?: number;
}): Promise<{ url: string; metrics: Metrics; path: VerifyPath; server: Server; close(): Promise<void> }> {
  const logger = createLogger('silent');
  const metrics = createMetrics();
  const path = await startVerifyPath({
    config: { REKEY_CACHE_SIZE: 1000, REKEY_CACHE_TTL: 30_000 },
    database: options.database,
    changes: options.changes,
    clock: options.clock,
    metrics,
    logger,
    heartbeatMs: options.heartbeatMs,
    filterConfirmPerSecond: options.filterConfirmPerSecond,
  });
  const server = createHttpServer({
    logger,
    metrics,
    verify: createVerifyRoute({
      verify: path.cache.verify,
      verifyNow: path.cache.verifyNow,
      apiTokens: [API_TOKEN],
      metrics,
      logger,
    }),
    ready: () =>
      options.database.ping().then(
        () => true,
        () => false,
      ),
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    metrics,
    path,
    server,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await path.stop();
    },
  };
}

export async function postVerify(
  url: string,
  body: string | object,
  auth: string | null = `Bearer ${API_TOKEN}`,
): Promise<{ status: number; headers: Headers; json: Record<string, unknown> }> {
  const res = await fetch(`${url}/v1/keys/verify`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {}
  return { status: res.status, headers: res.headers, json };
}
