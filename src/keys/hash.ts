import { createHash } from 'node:crypto';

/**
 * SHA-256 of the whole key string, hex. Keys carry 190 bits of randomness, so a fast unsalted hash
 * is safe here (no dictionary to attack) and lets the hash be the unique lookup index.
 */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
