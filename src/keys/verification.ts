export type VerifyFailureCode = 'MALFORMED' | 'NOT_FOUND' | 'EXPIRED';

export type ValidVerdict = {
  valid: true;
  keyId: string;
  name: string;
  products: string[];
  status: 'active' | 'expiring';
  expiresAt: string | null;
};

export type VerifyResult = ValidVerdict | { valid: false; code: VerifyFailureCode };

/**
 * Verdicts are frozen, and each is reused for as long as its facts hold, so an adapter may memoise
 * their serialisation by identity (the verify route does).
 */
export const MALFORMED: VerifyResult = Object.freeze({ valid: false, code: 'MALFORMED' });
export const NOT_FOUND: VerifyResult = Object.freeze({ valid: false, code: 'NOT_FOUND' });
export const EXPIRED: VerifyResult = Object.freeze({ valid: false, code: 'EXPIRED' });

/** What a verification needs to know about a secret of a live key, found by its hash. */
export interface SecretFacts {
  /** null: the key's current secret, valid until a rotation gives it an expiry. */
  readonly expiresAtMs: number | null;
  /** The answer while the secret has not expired (frozen, built once by validVerdict). */
  readonly valid: ValidVerdict;
}

/** The frozen answer for a secret of this key that has not expired. */
export function validVerdict(
  key: { keyId: string; name: string; products: readonly string[] },
  expiresAtMs: number | null,
): ValidVerdict {
  return Object.freeze({
    valid: true,
    keyId: key.keyId,
    name: key.name,
    products: key.products as string[],
    status: expiresAtMs === null ? 'active' : 'expiring',
    expiresAt: expiresAtMs === null ? null : new Date(expiresAtMs).toISOString(),
  });
}

/**
 * The verification rule, after the format and checksum check (MALFORMED, decided before any lookup):
 * no secret of a live key → NOT_FOUND; expiry at or before now → EXPIRED (so an old key stops at
 * `expires_at` whether or not anything else ran); otherwise active or expiring.
 */
export function decideVerification(secret: SecretFacts | null | undefined, nowMs: number): VerifyResult {
  if (!secret) return NOT_FOUND;
  if (secret.expiresAtMs !== null && secret.expiresAtMs <= nowMs) return EXPIRED;
  return secret.valid;
}
