import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Checks `Authorization: Bearer <token>` against the allowed tokens in constant time. Both sides are
 * hashed first so the comparison has equal lengths and leaks neither content nor length.
 */
export function createBearerCheck(tokens: readonly string[]): (header: string | undefined) => boolean {
  const allowed = tokens.map((t) => createHash('sha256').update(t).digest());
  return (header) => {
    if (!header || allowed.length === 0) return false;
    const match = /^Bearer ([^\s]+)$/i.exec(header.trim());
    if (!match) return false;
    const presented = createHash('sha256').update(match[1]!).digest();
    let ok = false;
    for (const candidate of allowed) ok = timingSafeEqual(candidate, presented) || ok;
    return ok;
  };
}
