import { createHash, timingSafeEqual } from 'node:crypto';

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
): (header: string | undefined, connection?: object) => boolean {
  const allowed = tokens.map(sha256);
  const proven = new WeakMap<object, Buffer>();
  return (header, connection) => {
    if (!header || allowed.length === 0) return false;
    const known = connection && proven.get(connection);
    if (known) {
      const presented = Buffer.from(header);
      // Lengths may differ; only the (public) length of a valid header is learned from that.
      if (presented.length === known.length && timingSafeEqual(presented, known)) return true;
    }
    const match = /^Bearer ([^\s]+)$/i.exec(header.trim());
    let ok = false;
    if (match) {
      const presented = sha256(match[1]!);
      for (const candidate of allowed) ok = timingSafeEqual(candidate, presented) || ok;
    }
    if (connection) {
      if (ok) proven.set(connection, Buffer.from(header));
      else proven.delete(connection);
    }
    return ok;
  };
}
