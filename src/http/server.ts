import { createServer, type Server, type ServerResponse } from 'node:http';
import type { Logger } from '../logger.ts';
import { AUTHORIZE_PATH, isAuthorizePath } from './authorize-route.ts';
import { sendJson } from './respond.ts';
import { createRoutes, type RouteDeps, VERIFY_PATH } from './routes.ts';
import { SLACK_BODY_LIMIT_BYTES, SLACK_BODY_TIMEOUT_MS } from './slack-body.ts';

export type { RouteHandler } from './routes.ts';

/** The routes' handlers (see src/http/routes.ts), plus what the server itself needs. */
export interface HttpServerDeps extends RouteDeps {
  logger: Logger;
  /** Flood bounds; the defaults below are what production runs with (tests shorten them). */
  limits?: Partial<HttpLimits>;
}

export interface HttpLimits {
  /** Largest /slack/events body, and how long it may take to arrive after its headers. */
  slackBodyBytes: number;
  slackBodyMs: number;
  /** Every request's headers, and every whole request, must arrive within these (then 408, closed). */
  headersMs: number;
  requestMs: number;
  /** How often node sweeps connections for the two bounds above: the bounds are exact to this. */
  checkEveryMs: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  slackBodyBytes: SLACK_BODY_LIMIT_BYTES,
  slackBodyMs: SLACK_BODY_TIMEOUT_MS,
  // node's own defaults (60 s, 300 s, swept every 30 s) let a slow sender hold a socket for minutes.
  headersMs: 10_000,
  requestMs: 30_000,
  checkEveryMs: 1_000,
};

/**
 * One server on PORT. The verify route is matched first, with no framework in the way: it carries the
 * gateways' traffic, and routing through Bolt would cost most of its speed budget.
 */
export function createHttpServer(deps: HttpServerDeps): Server {
  const limits = { ...DEFAULT_HTTP_LIMITS, ...deps.limits };
  const slackBody = { bytes: limits.slackBodyBytes, timeoutMs: limits.slackBodyMs };
  const options = {
    headersTimeout: limits.headersMs,
    requestTimeout: limits.requestMs,
    connectionsCheckingInterval: limits.checkEveryMs,
  };
  const fail = (error: unknown, res: ServerResponse, path: string) => {
    deps.logger.error({ err: error, path }, 'request failed');
    if (!res.headersSent) sendJson(res, 500, { error: 'internal' });
    else res.destroy();
  };
  // Every path and its handler: src/http/routes.ts.
  const { verify, authorize, byPath } = createRoutes(deps, slackBody, fail);
  const server = createServer(options, (req, res) => {
    // The gateways' route first, before any per-request closure: most traffic is exactly this.
    if (req.url === VERIFY_PATH && req.method === 'POST') {
      const pending = verify(req, res);
      if (pending) pending.catch((error: unknown) => fail(error, res, VERIFY_PATH));
      return;
    }
    if (authorize && isAuthorizePath(req.url!)) {
      try {
        authorize(req, res);
      } catch (error) {
        fail(error, res, AUTHORIZE_PATH);
      }
      return;
    }
    const path = (req.url ?? '/').split('?', 1)[0]!;
    const route = byPath.get(path);
    if (!route) return sendJson(res, 404, { error: 'not_found' });
    try {
      const pending = route(req, res);
      if (pending) pending.catch((error: unknown) => fail(error, res, path));
    } catch (error) {
      fail(error, res, path);
    }
  });
  server.keepAliveTimeout = 65_000;
  return server;
}
