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
export const SLACK_EVENTS_PATH = '/slack/events';

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/** A path and the methods it answers: what local mode's page adds to the table, too. */
export interface PathRoute {
  /** The exact path; the query string is never part of it, and `/x/` is another path than `/x`. */
  path: string;
  /** The methods it answers (GET answers HEAD too, with no body); `'any'`: every method. */
  methods: readonly HttpMethod[] | 'any';
  handle: RouteHandler;
}

/**
 * Which part of rekey a route belongs to: `gateway` (verify, authorize, and the OpenAPI description
 * of that API), `operations` (health, readiness, metrics), `leaks` (secret scanners), `slack` (Bolt)
 * and `page` (local mode). A replica's REKEY_ROLE serves some parts (`roleServes`); a route it does
 * not serve is left out of its table, and so answers 404.
 */
export type RoutePart = 'gateway' | 'operations' | 'leaks' | 'slack' | 'page';

/**
 * The parts a split role answers (README: "Operate rekey in production"); `all` answers every route.
 * Anything else is 404 there, as if it did not exist: a verify replica has no Slack endpoint, page or
 * leak route to reach, a bot no verify API.
 */
const ROLE_PARTS: Record<Exclude<Role, 'all'>, ReadonlySet<RoutePart>> = {
  verify: new Set(['gateway', 'operations']),
  bot: new Set(['slack', 'leaks', 'operations']),
};

/** Whether a process of this role answers the route (the server's `serves`). */
export function roleServes(role: Role, route: Pick<Route, 'part'>): boolean {
  return role === 'all' || ROLE_PARTS[role].has(route.part);
}

export interface Route extends PathRoute {
  part: RoutePart;
  /** Also every path below it (`path/…`): authorize, where Envoy appends the original path. */
  below?: boolean;
  /** Described in GET /openapi.json (test/http/openapi.test.ts holds the two to each other). */
  documented: boolean;
}

export interface RouteDeps {
  metrics: Metrics;
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
  /** Local mode's page and its API (src/local/page-routes.ts). */
  pages?: readonly PathRoute[];
}

/**
 * Every path rekey's HTTP server answers on PORT, the methods each answers, and what answers it. This
 * is the HTTP surface's one registration file: to find a route's behaviour, find its path here and
 * follow the handler. The server (src/http/server.ts) answers a wrong method `405` with `Allow` and
 * any other path `404` from this table, before any handler or framework sees the request; verify and
 * authorize are matched first there, with plain string checks, because they carry the traffic.
 *
 * `onError` reports a failure of Bolt's handler, which runs once the body has been read, outside the
 * server's own catch.
 */
export function createRoutes(
  deps: RouteDeps,
  slackBody: SlackBodyLimits,
  onError: (error: unknown, res: ServerResponse, path: string) => void,
): Route[] {
  const { slack, metrics } = deps;
  const operation = (path: string, handle: RouteHandler): Route => ({
    path,
    methods: ['GET'],
    part: 'operations',
    documented: true,
    handle,
  });
  const routes: Route[] = [
    operation('/healthz', (_req, res) => sendJson(res, 200, { ok: true })),
    operation('/readyz', async (_req, res) => {
      const ready = await deps.ready();
      sendJson(res, ready ? 200 : 503, { ready });
    }),
    operation('/metrics', async (_req, res) =>
      sendText(res, 200, await metrics.registry.metrics(), metrics.registry.contentType),
    ),
    { ...operation('/openapi.json', (_req, res) => sendOpenApi(res)), part: 'gateway' },
  ];
  if (deps.verify) {
    routes.unshift({
      path: VERIFY_PATH,
      methods: ['POST'],
      part: 'gateway',
      documented: true,
      handle: deps.verify,
    });
  }
  if (deps.authorize) {
    routes.push({
      path: AUTHORIZE_PATH,
      methods: 'any',
      below: true,
      part: 'gateway',
      documented: true,
      handle: deps.authorize,
    });
  }
  if (deps.leaks) {
    routes.push({ path: LEAKS_PATH, methods: ['POST'], part: 'leaks', documented: true, handle: deps.leaks });
  }
  if (slack) {
    // Bounded here, before Bolt, which would buffer up to 4 MB with no time limit; Bolt then checks
    // Slack's signature over the body before any handler runs. Bolt's listener is called from the
    // body's `end` event, where a throw would reach no one: it is caught here and ends the request.
    routes.push({
      path: SLACK_EVENTS_PATH,
      methods: ['POST'],
      part: 'slack',
      documented: false,
      handle: (req, res) =>
        readSlackBodyThen(req, res, slackBody, (buffered) => {
          try {
            const pending = slack(buffered, res);
            if (pending) pending.catch((error: unknown) => onError(error, res, SLACK_EVENTS_PATH));
          } catch (error) {
            onError(error, res, SLACK_EVENTS_PATH);
          }
        }),
    });
  }
  for (const page of deps.pages ?? []) routes.push({ ...page, part: 'page', documented: false });

  const seen = new Set<string>();
  for (const { path } of routes) {
    // A second route on a path would silently shadow the first (a page over /healthz, say).
    if (seen.has(path)) throw new Error(`two HTTP routes on ${path}`);
    seen.add(path);
  }
  return routes;
}

/** The `Allow` header of a route that does not answer every method. */
export function allowHeader(methods: readonly HttpMethod[]): string {
  return HTTP_METHODS.filter((m) => methods.includes(m) || (m === 'HEAD' && methods.includes('GET'))).join(
    ', ',
  );
}
