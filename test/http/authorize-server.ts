import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Clock } from '../../src/clock.ts';
import { createAuthorizeRoute } from '../../src/http/authorize-route.ts';
import { createAskerDescriber } from '../../src/http/canary-asker.ts';
import { createHttpServer, type RouteHandler } from '../../src/http/server.ts';
import { createVerifyRoute } from '../../src/http/verify-route.ts';
import type { VerifyResult } from '../../src/keys/verification.ts';
import { createLogger, type Logger } from '../../src/logger.ts';
import { createMetrics, type Metrics } from '../../src/metrics.ts';
import type { KeyChanges } from '../../src/services/key-changes.ts';
import type { UsageCounter } from '../../src/services/usage-counter.ts';
import type { Verifier } from '../../src/services/verify-key.ts';
import type { Database } from '../../src/store/database.ts';
import { startVerifyPath, type VerifyPath } from '../../src/verify-wiring.ts';

/** At least 32 characters, as config requires of REKEY_API_TOKENS. */
export const GATEWAY_TOKEN = 'gateway-token-for-tests-0123456789abcdef';

/**
 * The HTTP server with verify and authorize wired as startRekey wires them (same cache, same metrics),
 * on a free loopback port. `verifier` replaces the cache (to play an unreachable database).
 */
export async function startAuthorizeServer(options: {
  database: Database;
  changes: KeyChanges;
  clock: Clock;
  logger?: Logger;
  verifier?: { verify: Verifier; verifyNow?: (token: unknown) => VerifyResult | undefined };
  /** POST /v1/leaks, when the test needs it (it reports through services of its own). */
  leaks?: RouteHandler;
  /** Counts verifications (with their clients), as the app's counter does. */
  usage?: UsageCounter;
}): Promise<{ url: string; metrics: Metrics; server: Server; path: VerifyPath; close(): Promise<void> }> {
  const logger = options.logger ?? createLogger('silent');
  const metrics = createMetrics();
  const path = await startVerifyPath({
    config: { REKEY_CACHE_SIZE: 1000, REKEY_CACHE_TTL: 30_000 },
    database: options.database,
    changes: options.changes,
    clock: options.clock,
    metrics,
    logger,
    describeAsker: createAskerDescriber([GATEWAY_TOKEN]),
    usage: options.usage,
  });
  const verifier = options.verifier ?? path.cache;
  const route = { verify: verifier.verify, verifyNow: verifier.verifyNow, metrics, logger };
  const server = createHttpServer({
    logger,
    metrics,
    verify: createVerifyRoute({ ...route, apiTokens: [GATEWAY_TOKEN] }),
    authorize: createAuthorizeRoute({ ...route, apiTokens: [GATEWAY_TOKEN], clock: options.clock }),
    ready: async () => true,
    leaks: options.leaks,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    metrics,
    server,
    path,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await path.stop();
    },
  };
}

export interface AuthorizeAnswer {
  status: number;
  headers: Headers;
  body: string;
}

/** A gateway's question: the client's headers, plus the gateway's own token unless told otherwise. */
export async function askAuthorize(
  url: string,
  headers: Record<string, string>,
  options: { gatewayToken?: string | null; method?: string; path?: string; body?: string } = {},
): Promise<AuthorizeAnswer> {
  const gatewayToken = options.gatewayToken === undefined ? GATEWAY_TOKEN : options.gatewayToken;
  const res = await fetch(`${url}${options.path ?? '/v1/keys/authorize'}`, {
    method: options.method ?? 'GET',
    headers: { ...(gatewayToken === null ? {} : { 'x-rekey-gateway-token': gatewayToken }), ...headers },
    body: options.body,
  });
  return { status: res.status, headers: res.headers, body: await res.text() };
}
