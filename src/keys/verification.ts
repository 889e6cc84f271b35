import { secretState } from './rotation.ts';

export type VerifyFailureCode = 'MALFORMED' | 'NOT_FOUND' | 'EXPIRED';

export type VerifyResult =
  | {
      valid: true;
      keyId: string;
      name: string;
      products: string[];
      status: 'active' | 'expiring';
      expiresAt: string | null;
    }
  | { valid: false; code: VerifyFailureCode };

/** What the verify path knows about a secret found by hash. */
export interface SecretLookup {
  keyId: string;
  name: string;
  products: string[];
  expiresAt: Date | null;
  keyDeleted: boolean;
}

/** DESIGN §4 after the format check: deleted → NOT_FOUND, expired at or past `expires_at` → EXPIRED. */
export function decideVerification(found: SecretLookup | null, now: Date): VerifyResult {
  if (!found || found.keyDeleted) return { valid: false, code: 'NOT_FOUND' };
  const state = secretState(found.expiresAt, now);
  if (state === 'expired') return { valid: false, code: 'EXPIRED' };
  return {
    valid: true,
    keyId: found.keyId,
    name: found.name,
    products: found.products,
    status: state === 'current' ? 'active' : 'expiring',
    expiresAt: found.expiresAt ? found.expiresAt.toISOString() : null,
  };
}
