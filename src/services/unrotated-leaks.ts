import type { DbOrTx } from '../store/database.ts';
import { findLatestLiveLeaks } from '../store/leak-reports-store.ts';
import type { KeySummary } from './types.ts';

/** The key card's red line: where and when a key was last seen leaked, while it has not been rotated since. */
export interface UnrotatedLeak {
  /** The Slack channel it was posted in, or null when a scanner found it… */
  channel: string | null;
  /** …at this URL. */
  url: string | null;
  reportedAt: Date;
}

/**
 * For each key whose latest report of a working secret is newer than its last rotation, that report.
 * A rotation after the report clears it: the key card then stops warning.
 */
export async function findUnrotatedLeaks(
  db: DbOrTx,
  keys: readonly Pick<KeySummary, 'id' | 'lastRotatedAt'>[],
): Promise<Map<string, UnrotatedLeak>> {
  const rotated = new Map(keys.map((k) => [k.id, k.lastRotatedAt?.getTime() ?? Number.NEGATIVE_INFINITY]));
  const leaks = new Map<string, UnrotatedLeak>();
  for (const report of await findLatestLiveLeaks(db, [...rotated.keys()])) {
    if (report.reportedAt.getTime() <= (rotated.get(report.keyId) ?? 0)) continue;
    leaks.set(report.keyId, { channel: report.channel, url: report.url, reportedAt: report.reportedAt });
  }
  return leaks;
}
