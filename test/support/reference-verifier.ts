import type { Clock } from '../../src/clock.ts';
import { hashToken } from '../../src/keys/hash.ts';
import { parseToken } from '../../src/keys/token.ts';
import { decideVerification, MALFORMED, type VerifyResult } from '../../src/keys/verification.ts';
import type { Db } from '../../src/store/database.ts';
import { prepareVerificationLookupMany } from '../../src/store/secrets-store.ts';

/**
 * The verification rule with no cache at all: one lookup per call, decided at once. Only a reference
 * for tests that check the cached verifier answers exactly as the database says.
 */
export function createReferenceVerifier(deps: {
  db: Db;
  clock: Clock;
}): (token: unknown) => Promise<VerifyResult> {
  const lookup = prepareVerificationLookupMany(deps.db);
  return async (token) => {
    if (!parseToken(token)) return MALFORMED;
    const [row] = await lookup([hashToken(token as string)]);
    const live = row && row.deletedAt === null;
    return decideVerification(
      live
        ? {
            expiresAtMs: row.expiresAt ? row.expiresAt.getTime() : null,
            valid: {
              valid: true,
              keyId: row.keyId,
              name: row.name,
              products: row.products,
              status: row.expiresAt ? 'expiring' : 'active',
              expiresAt: row.expiresAt ? row.expiresAt.toISOString() : null,
            },
          }
        : null,
      deps.clock.now().getTime(),
    );
  };
}
