import { createHash, timingSafeEqual } from 'node:crypto';

const sha256 = (text: string) => createHash('sha256').update(text).digest();

/**
 * Checks `Authorization: Bearer <token>` against the allowed tokens in constant time. Both sides are
 * hashed first so the comparison has equal lengths and leaks neither content nor length. Every request
 * takes the full check: a proxy may carry several clients on one connection, so nothing proven on a
 * connection is trusted for the next request.
 */
export function createBearerCheck(tokens: readonly string[]): (header: string | undefined) => boolean {
  const allowed = tokens.map(sha256);
  return (header) => {
    if (!header || allowed.length === 0) return false;
    const match = /^Bearer ([^\s]+)$/i.exec(header.trim());
    if (!match) return false;
    const presented = sha256(match[1]!);
    let ok = false;
    for (const candidate of allowed) ok = timingSafeEqual(candidate, presented) || ok;
    return ok;
  };
}
