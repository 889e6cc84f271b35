import type { ServerResponse } from 'node:http';
import type { Logger } from '../logger.ts';

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export function sendText(
  res: ServerResponse,
  status: number,
  text: string,
  contentType = 'text/plain; charset=utf-8',
) {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * What a request gets when its handler failed (a bug, or a dependency that threw): a 500 without
 * details, logged with its route and method; when the answer had already begun, the connection is cut
 * instead. The process carries on: one failing request never takes the others down.
 */
export function answerFailure(
  logger: Pick<Logger, 'error'>,
  error: unknown,
  res: ServerResponse,
  route: string,
): void {
  logger.error({ err: error, route, method: res.req?.method }, 'request failed');
  if (!res.headersSent) sendJson(res, 500, { error: 'internal', message: 'rekey failed to answer' });
  else if (!res.writableEnded) res.destroy();
}
