import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Role } from '../config.ts';
import type { Metrics } from '../metrics.ts';
import { AUTHORIZE_PATH } from './authorize-route.ts';
import { LEAKS_PATH } from './leaks-route.ts';
import { sendOpenApi } from './openapi.ts';
import { sendJson, sendText } from './respond.ts';
import { readSlackBodyThen, type SlackBodyLimits } from './slack-body.ts';

export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/** The gateways' verify route: `POST` on exactly this path is matched before anything else. */
export const VERIFY_PATH = '/v1/keys/verify';

/**
 * The paths a split role answers (README: "Operate rekey in production"); `all` answers every route.
 * Anything else is 404 there, as if it did not exist: a verify replica has no Slack endpoint, page or
 * leak route to reach, a bot no verify API. The authorize entry covers every path below it.
 */
const ROLE_PATHS: Record<Exclude<Role, 'all'>, ReadonlySet<string>> = {
  verify: new Set([VERIFY_PATH, AUTHORIZE_PATH, '/healthz', '/readyz', '/metrics', '/openapi.json']),
  bot: new Set(['/slack/events', LEAKS_PATH, '/healthz', '/readyz', '/metrics']),
};

export function roleServes(role: Role, path: string): boolean {
  return role === 'all' || ROLE_PATHS[role].has(path);
}

export interface RouteDeps {
  metrics: Metrics;
  /** REKEY_ROLE: the routes below are filtered by what it serves (default `all`: every one). */
  role?: Role;
  /** POST /v1/keys/verify (src/http/verify-route.ts); absent on a bot. */
  verify?: RouteHandler;
  /** /v1/keys/authorize and every path below it, any method (src/http/authorize-route.ts). */
  authorize?: (req: IncomingMessage, res: ServerResponse) => void;
  /** POST /v1/leaks: secret scanners' findings (src/http/leaks-route.ts); absent in tests that need none. */
  leaks?: RouteHandler;
  /** Readiness, kept in memory by the health monitor (never a query per request). */
  ready: () => boolean | Promise<boolean>;
  /** Bolt's request listener (src/slack/start-slack.ts); absent without Slack. */
  slack?: RouteHandler;
  /** Local mode's page and its API (src/local/page-routes.ts), by exact path. */
  extra?: ReadonlyMap<string, RouteHandler>;
}

export interface HttpRoutes {
  /**
   * The two gateway routes, which carry almost all traffic. The server matches them first, with plain
   * string checks and no per-request closure (see src/http/server.ts): they are not looked up below.
   */
  verify: RouteHandler;
  authorize: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  /** Every other path, matched exactly (the query string is ignored); anything else is 404. */
  byPath: ReadonlyMap<string, RouteHandler>;
}

/**
 * Every path rekey's HTTP server answers on PORT, and what answers it. This is the HTTP surface's one
 * registration file: to find a route's behaviour, find its path here and follow the handler.
 *
 * `onError` reports a failure of Bolt's handler, which runs once the body has been read, outside the
 * server's own catch.
 */
export function createRoutes(
  deps: RouteDeps,
  slackBody: SlackBodyLimits,
  onError: (error: unknown, res: ServerResponse, path: string) => void,
): HttpRoutes {
  const { verify, slack, metrics } = deps;
  const notFound: RouteHandler = (_req, res) => sendJson(res, 404, { error: 'not_found' });
  // POST /v1/keys/verify → `verify` (src/http/verify-route.ts) and /v1/keys/authorize[/…], any method →
  // `authorize` (src/http/authorize-route.ts) are answered before this table is read; the rest:
  const byPath = new Map<string, RouteHandler>([
    // Local mode's page first, so that none of its paths can shadow one of the routes below.
    ...(deps.extra ?? []),
    // POST with a query string reaches verify here; any other method is told which one to use.
    [
      VERIFY_PATH,
      (req, res) =>
        req.method !== 'POST'
          ? sendJson(res, 405, { error: 'method_not_allowed' }, { allow: 'POST' })
          : (verify ?? notFound)(req, res),
    ],
    ['/healthz', (_req, res) => sendJson(res, 200, { ok: true })],
    [
      '/readyz',
      async (_req, res) => {
        const ready = await deps.ready();
        sendJson(res, ready ? 200 : 503, { ready });
      },
    ],
    [
      '/metrics',
      async (_req, res) => sendText(res, 200, await metrics.registry.metrics(), metrics.registry.contentType),
    ],
    ['/openapi.json', (_req, res) => sendOpenApi(res)],
  ]);
  if (deps.leaks) byPath.set(LEAKS_PATH, deps.leaks);
  if (slack) {
    // Bounded here, before Bolt, which would buffer up to 4 MB with no time limit; Bolt then checks
    // Slack's signature over the body before any handler runs.
    byPath.set('/slack/events', (req, res) =>
      readSlackBodyThen(req, res, slackBody, (buffered) => {
        const pending = slack(buffered, res);
        if (pending) pending.catch((error: unknown) => onError(error, res, '/slack/events'));
      }),
    );
  }
  const role = deps.role ?? 'all';
  for (const path of byPath.keys()) if (!roleServes(role, path)) byPath.delete(path);
  return {
    verify: verify && roleServes(role, VERIFY_PATH) ? verify : notFound,
    authorize: roleServes(role, AUTHORIZE_PATH) ? deps.authorize : undefined,
    byPath,
  };
}
