import { createHash, timingSafeEqual } from 'node:crypto';

const sha256 = (text: string) => createHash('sha256').update(text).digest();

/**
 * Checks `Authorization: Bearer <token>` against the allowed tokens in constant time. Both sides are
 * hashed first so the comparison has equal lengths and leaks neither content nor length.
 *
 * Gateways keep connections alive and send the same header on every request, so a header that passed
 * the full check is remembered for its connection. Later requests on that connection compare against
 * what the same connection already proved, which tells the sender nothing it did not already know;
 * any other header takes the full constant-time path again.
 */
export function createBearerCheck(
  tokens: readonly string[],
): (header: string | undefined, connection?: object) => boolean {
  const allowed = tokens.map(sha256);
  const proven = new WeakMap<object, string>();
  return (header, connection) => {
    if (!header || allowed.length === 0) return false;
    if (connection && proven.get(connection) === header) return true;
    const match = /^Bearer ([^\s]+)$/i.exec(header.trim());
    if (!match) return false;
    const presented = sha256(match[1]!);
    let ok = false;
    for (const candidate of allowed) ok = timingSafeEqual(candidate, presented) || ok;
    if (connection) {
      if (ok) proven.set(connection, header);
      else proven.delete(connection);
    }
    return ok;
  };
}
