import { hashToken } from '../keys/hash.ts';
import { parseToken } from '../keys/token.ts';
import { decideVerification, type VerifyResult } from '../keys/verification.ts';
import { prepareVerificationLookup, type VerificationRow } from '../store/secrets-store.ts';
import type { ServiceDeps } from './types.ts';

const MALFORMED: VerifyResult = Object.freeze({ valid: false, code: 'MALFORMED' }) as VerifyResult;

export type Verifier = (token: unknown) => Promise<VerifyResult>;

/**
 * DESIGN §4: format and checksum first (no database for a typo), then the prepared hash lookup, then
 * expiry against the application clock — so an old key stops at `expires_at` whether or not the
 * scheduler ever ran.
 */
export function createVerifier(
  deps: Pick<ServiceDeps, 'db' | 'clock'>,
  lookup: (hash: string) => Promise<VerificationRow | undefined> = prepareVerificationLookup(deps.db),
): Verifier {
  return async (token) => {
    if (!parseToken(token)) return MALFORMED;
    const row = await lookup(hashToken(token as string));
    return decideVerification(
      row
        ? {
            keyId: row.keyId,
            name: row.name,
            products: row.products,
            expiresAt: row.expiresAt,
            keyDeleted: row.deletedAt !== null,
          }
        : null,
      deps.clock.now(),
    );
  };
}
