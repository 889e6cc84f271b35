import { findLastCanaryTries } from '../store/canary-store.ts';
import type { DbOrTx } from '../store/database.ts';
import type { KeySummary } from './types.ts';

/**
 * When each canary among these keys was last tried, by key id (never tried: absent). What its card and
 * `keys show` say. No query when none of them is a canary.
 */
export function findCanariesLastTried(
  db: DbOrTx,
  keys: ReadonlyArray<Pick<KeySummary, 'id' | 'canary'>>,
): Promise<Map<string, Date>> {
  return findLastCanaryTries(
    db,
    keys.filter((k) => k.canary).map((k) => k.id),
  );
}
