import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from '../logger.ts';
import { AUTHORIZE_PATH, isAuthorizePath } from './authorize-route.ts';
import { answerFailure, sendJson } from './respond.ts';
import { allowHeader, createRoutes, type Route, type RouteDeps, VERIFY_PATH } from './routes.ts';
import { SLACK_BODY_LIMIT_BYTES, SLACK_BODY_TIMEOUT_MS } from './slack-body.ts';

export type { RouteHandler } from './routes.ts';

/** The routes' handlers (see src/http/routes.ts), plus what the server itself needs. */
export interface HttpServerDeps extends RouteDeps {
  logger: Logger;
  /** Flood bounds; the defaults below are what production runs with (tests shorten them). */
  limits?: Partial<HttpLimits>;
  /**
   * Which routes of the table this server serves (a replica's REKEY_ROLE serves some parts only);
   * the others answer 404 like any unknown path. Default: all of them.
   */
  serves?: (route: Route) => boolean;
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

/** A route of the table, ready to answer: its methods as a set, its `Allow` answer prepared once. */
interface Served {
  route: Route;
  /** undefined: any method. */
  methods?: ReadonlySet<string>;
  allow?: Record<string, string>;
}

function served(route: Route): Served {
  if (route.methods === 'any') return { route };
  const allow = allowHeader(route.methods);
  return { route, methods: new Set(allow.split(', ')), allow: { allow } };
}

/**
 * One server on PORT, answering from the route table (src/http/routes.ts). Every request ends in an
 * answer: a path no route serves is 404, a method its route does not take is 405 with `Allow` (before
 * any handler or framework reads it), and a handler that throws, or whose promise rejects, gets 500,
 * logged with its route — never a dead process. The verify route is matched first, with no framework
 * in the way: it carries the gateways' traffic, and routing through Bolt would cost most of its speed
 * budget.
 */
export function createHttpServer(deps: HttpServerDeps): Server {
  const limits = { ...DEFAULT_HTTP_LIMITS, ...deps.limits };
  const slackBody = { bytes: limits.slackBodyBytes, timeoutMs: limits.slackBodyMs };
  const options = {
    headersTimeout: limits.headersMs,
    requestTimeout: limits.requestMs,
    connectionsCheckingInterval: limits.checkEveryMs,
  };
  const fail = (error: unknown, res: ServerResponse, path: string) =>
    answerFailure(deps.logger, error, res, path);
  // Every path, its methods and its handler: src/http/routes.ts.
  const table = createRoutes(deps, slackBody, fail).filter(deps.serves ?? (() => true));
  const exact = new Map(table.map((route) => [route.path, served(route)]));
  const below = table.filter((route) => route.below).map(served);
  const verify = exact.get(VERIFY_PATH)?.route.handle;
  const authorize = exact.get(AUTHORIZE_PATH)?.route.handle;

  const run = (handle: Route['handle'], req: IncomingMessage, res: ServerResponse, path: string) => {
    try {
      const pending = handle(req, res);
      if (pending) pending.catch((error: unknown) => fail(error, res, path));
    } catch (error) {
      fail(error, res, path);
    }
  };

  const server = createServer(options, (req, res) => {
    const url = req.url!;
    // The gateways' routes first, with plain string checks and no per-request closure: most traffic is
    // exactly this.
    if (url === VERIFY_PATH && req.method === 'POST' && verify) return run(verify, req, res, VERIFY_PATH);
    if (authorize && isAuthorizePath(url)) return run(authorize, req, res, AUTHORIZE_PATH);
    const query = url.indexOf('?');
    const path = query < 0 ? url : url.slice(0, query);
    const found = exact.get(path) ?? below.find(({ route }) => path.startsWith(`${route.path}/`));
    if (!found) return sendJson(res, 404, { error: 'not_found', message: `Nothing is served at ${path}` });
    if (found.methods && !found.methods.has(req.method!)) {
      return sendJson(
        res,
        405,
        { error: 'method_not_allowed', message: `${path} answers ${found.allow!.allow}` },
        found.allow,
      );
    }
    run(found.route.handle, req, res, found.route.path);
  });
  server.keepAliveTimeout = 65_000;
  return server;
}
