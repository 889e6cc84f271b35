import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from './respond.ts';

const sha256 = (text: string) => createHash('sha256').update(text).digest();

/**
 * Checks `Authorization: Bearer <token>` against the allowed tokens in constant time. Both sides are
 * hashed first so the comparison has equal lengths and leaks neither content nor length.
 *
 * Gateways keep connections alive and send the same header on every request, so a header that passed
 * the full check is remembered for its connection, and later requests on that connection are compared
 * with it — also in constant time (a proxy may carry several clients on one connection, so a plain
 * string comparison could leak the proven header to a neighbour). Any other header takes the full
 * check again.
 */
export function createBearerCheck(
  tokens: readonly string[],
  options: {
    /** 'bare': the header is the token itself (X-Rekey-Gateway-Token), not `Bearer <token>`. */
    scheme?: 'bearer' | 'bare';
  } = {},
): (header: string | undefined, connection?: object) => boolean {
  const allowed = tokens.map(sha256);
  const shape = options.scheme === 'bare' ? /^([^\s]+)$/ : /^Bearer ([^\s]+)$/i;
  const proven = new WeakMap<object, string>();
  return (header, connection) => {
    if (!header || allowed.length === 0) return false;
    const known = connection && proven.get(connection);
    // Lengths may differ; only the (public) length of a valid header is learned from that.
    if (known && sameText(header, known)) return true;
    const match = shape.exec(header.trim());
    let ok = false;
    if (match) {
      const presented = sha256(match[1]!);
      for (const candidate of allowed) ok = timingSafeEqual(candidate, presented) || ok;
    }
    if (connection) {
      if (ok) proven.set(connection, header);
      else proven.delete(connection);
    }
    return ok;
  };
}

/**
 * Equal-length strings compared in time independent of where they differ (every character is read,
 * differences are OR-ed, no early exit) — without copying either into a Buffer on each request.
 */
function sameText(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** The 401 of the bearer-protected API routes: drains the body and says which header to send. */
export function refuseUnauthorized(
  req: IncomingMessage,
  res: ServerResponse,
  tokens: 'REKEY_API_TOKENS' | 'REKEY_SCANNER_TOKENS' = 'REKEY_API_TOKENS',
): void {
  req.resume();
  sendJson(
    res,
    401,
    { error: 'unauthorized', message: `Send Authorization: Bearer <one of ${tokens}>` },
    { 'www-authenticate': 'Bearer' },
  );
}
