import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { readBody } from '../http/read-body.ts';
import { sendJson, sendText } from '../http/respond.ts';
import type { PathRoute } from '../http/routes.ts';
import { isDemoUser } from './demo-workspace.ts';
import type { LocalWorkspace } from './local-workspace.ts';

const PUBLIC = (name: string) => fileURLToPath(new URL(`./public/${name}`, import.meta.url));
const STATIC: Record<string, [file: string, type: string]> = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/local/app.js': ['app.js', 'text/javascript; charset=utf-8'],
  '/local/block-kit.js': ['block-kit.js', 'text/javascript; charset=utf-8'],
  '/local/style.css': ['style.css', 'text/css; charset=utf-8'],
};

type Json = Record<string, unknown>;

async function jsonBody(req: IncomingMessage): Promise<Json> {
  const text = await readBody(req, 256 * 1024);
  const value = JSON.parse(text || '{}') as unknown;
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error('expected a JSON object');
  return value as Json;
}

const LOOPBACK_HOST = /^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/i;

/**
 * The page lets whoever loads it act as any demo user, and local mode may run on a real database. So
 * only this page may call the API: the Host must be a loopback name (a DNS-rebound name is refused),
 * a browser's Origin must be that same host, and POSTs must be JSON (a cross-site form or
 * `text/plain` fetch cannot send that without a CORS preflight, which this server never grants).
 */
function refuseForeign(req: IncomingMessage, res: ServerResponse, post: boolean): boolean {
  const host = req.headers.host ?? '';
  const origin = req.headers.origin;
  if (!LOOPBACK_HOST.test(host) || (origin !== undefined && origin !== `http://${host}`)) {
    sendJson(res, 403, { message: 'the local page API only answers the page itself, on 127.0.0.1' });
    return true;
  }
  if (post && !(req.headers['content-type'] ?? '').startsWith('application/json')) {
    sendJson(res, 415, { message: 'send JSON (content-type: application/json)' });
    return true;
  }
  return false;
}

/**
 * The local-mode page and its small API. Files are read per request (they are tiny and this is a demo);
 * every API call names a demo user, and anything else is refused with a 400 that says why.
 */
export function createPageRoutes(workspace: LocalWorkspace): PathRoute[] {
  const routes: PathRoute[] = [];
  for (const [path, [file, type]] of Object.entries(STATIC)) {
    routes.push({
      path,
      methods: ['GET'],
      handle: (_req, res) => {
        res.setHeader('cache-control', 'no-store');
        sendText(res, 200, readFileSync(PUBLIC(file), 'utf8'), type);
      },
    });
  }
  routes.push({
    path: '/local/api/state',
    methods: ['GET'],
    handle: (req, res) => {
      if (refuseForeign(req, res, false)) return;
      const user = new URL(req.url ?? '/', 'http://local').searchParams.get('user') ?? 'U0ADA';
      if (!isDemoUser(user)) return sendJson(res, 400, { message: `unknown demo user ${user}` });
      sendJson(res, 200, workspace.stateFor(user));
    },
  });

  // The server answers any other method 405 before these run (src/http/server.ts).
  const post = (name: string, handle: (body: Json & { user: string }) => Promise<Json | undefined>) => {
    routes.push({
      path: `/local/api/${name}`,
      methods: ['POST'],
      handle: async (req: IncomingMessage, res: ServerResponse) => {
        if (refuseForeign(req, res, true)) return;
        let body: Json;
        try {
          body = await jsonBody(req);
        } catch (error) {
          return sendJson(res, 400, { message: `bad request: ${(error as Error).message}` });
        }
        if (!isDemoUser(body.user)) return sendJson(res, 400, { message: 'unknown demo user' });
        sendJson(res, 200, (await handle(body as Json & { user: string })) ?? {});
      },
    });
  };
  post('message', async (b) => {
    await workspace.message(b.user, String(b.channel ?? 'C0GENERAL'), String(b.text ?? ''));
    return {};
  });
  post('view-submission', (b) => workspace.submitView(b.user, String(b.viewId), (b.values as Json) ?? {}));
  post('view-closed', async (b) => {
    await workspace.closeView(b.user, String(b.viewId));
    return {};
  });
  post('block-action', (b) =>
    workspace.blockAction(
      b.user,
      (b.container as { type: string }) ?? { type: 'message' },
      (b.action as Json) ?? {},
      (b.values as Json) ?? {},
    ),
  );
  post('home-opened', async (b) => {
    await workspace.homeOpened(b.user);
    return {};
  });
  return routes;
}
