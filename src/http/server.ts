import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import { AUTHORIZE_PATH, isAuthorizePath } from './authorize-route.ts';
import { sendOpenApi } from './openapi.ts';
import { sendJson, sendText } from './respond.ts';
import { readSlackBodyThen, SLACK_BODY_LIMIT_BYTES, SLACK_BODY_TIMEOUT_MS } from './slack-body.ts';

export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface HttpServerDeps {
  logger: Logger;
  metrics: Metrics;
  verify: RouteHandler;
  /** Forward authorisation for gateways: /v1/keys/authorize and every path below it, any method. */
  authorize?: (req: IncomingMessage, res: ServerResponse) => void;
  /** Readiness for /readyz: production reads a state kept in memory (never a query per request). */
  ready: () => boolean | Promise<boolean>;
  /** Bolt's request listener for /slack/events (absent until Slack is wired). */
  slack?: RouteHandler;
  /** Extra GET/POST routes by exact path (local mode's page). */
  extra?: Map<string, RouteHandler>;
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
  const slack = deps.slack;
  const options = {
    headersTimeout: limits.headersMs,
    requestTimeout: limits.requestMs,
    connectionsCheckingInterval: limits.checkEveryMs,
  };
  const server = createServer(options, (req, res) => {
    // The gateways' route first, before any per-request closure: most traffic is exactly this.
    if (req.url === '/v1/keys/verify' && req.method === 'POST') {
      const pending = deps.verify(req, res);
      if (pending) pending.catch((error: unknown) => fail(error, res, '/v1/keys/verify'));
      return;
    }
    if (deps.authorize && isAuthorizePath(req.url!)) {
      try {
        deps.authorize(req, res);
      } catch (error) {
        fail(error, res, AUTHORIZE_PATH);
      }
      return;
    }
    const path = (req.url ?? '/').split('?', 1)[0]!;
    const handle = async () => {
      if (path === '/v1/keys/verify') {
        if (req.method !== 'POST')
          return sendJson(res, 405, { error: 'method_not_allowed' }, { allow: 'POST' });
        return deps.verify(req, res);
      }
      if (path === '/healthz') return sendJson(res, 200, { ok: true });
      if (path === '/openapi.json') return sendOpenApi(res);
      if (path === '/readyz') {
        const ready = await deps.ready();
        return sendJson(res, ready ? 200 : 503, { ready });
      }
      if (path === '/metrics') {
        return sendText(res, 200, await deps.metrics.registry.metrics(), deps.metrics.registry.contentType);
      }
      if (path === '/slack/events' && slack) {
        // Bounded here, before Bolt, which would buffer up to 4 MB with no time limit.
        return readSlackBodyThen(req, res, slackBody, (buffered) => {
          const pending = slack(buffered, res);
          if (pending) pending.catch((error: unknown) => fail(error, res, path));
        });
      }
      const extra = deps.extra?.get(path);
      if (extra) return extra(req, res);
      return sendJson(res, 404, { error: 'not_found' });
    };
    handle().catch((error: unknown) => fail(error, res, path));
  });
  const fail = (error: unknown, res: ServerResponse, path: string) => {
    deps.logger.error({ err: error, path }, 'request failed');
    if (!res.headersSent) sendJson(res, 500, { error: 'internal' });
    else res.destroy();
  };
  server.keepAliveTimeout = 65_000;
  return server;
}
