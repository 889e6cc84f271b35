import type { Db, DbOrTx } from '../store/database.ts';
import { withDatabaseErrors } from '../store/database-errors.ts';
import { findLeakedSecretIds, findWorkingLeaks } from '../store/leak-reports-store.ts';
import type { KeySummary } from './types.ts';

/** The key card's red line: where and when a key was last seen leaked, while that secret still works. */
export interface UnrotatedLeak {
  /** The Slack channel it was posted in, or null when a scanner found it… */
  channel: string | null;
  /** …at this URL. */
  url: string | null;
  reportedAt: Date;
  /** The leaked secret: still the current key (null), or an old one that works until this instant. */
  leakedExpiresAt: Date | null;
  leakedSecretId: string;
  leakedDisplay: string;
}

/**
 * For each key, its latest report of a secret that still works now. The warning stays until the leaked
 * secret itself stops (rotated with no grace, its grace ended or run out): a rotation with a delay
 * leaves it working, so the card keeps saying so, now about an old key.
 */
export async function findUnrotatedLeaks(
  db: DbOrTx,
  keys: readonly Pick<KeySummary, 'id'>[],
  now: Date,
): Promise<Map<string, UnrotatedLeak>> {
  const leaks = new Map<string, UnrotatedLeak>();
  for (const { report, secret } of await findWorkingLeaks(
    db,
    keys.map((k) => k.id),
    now,
  )) {
    leaks.set(report.keyId, {
      channel: report.channel,
      url: report.url,
      reportedAt: report.reportedAt,
      leakedExpiresAt: secret.expiresAt,
      leakedSecretId: secret.id,
      leakedDisplay: secret.display,
    });
  }
  return leaks;
}

/** Which of these (old) secrets were reported leaked while they worked: reminders about them say so. */
export function leakedSecretIds(deps: { db: Db }, secretIds: string[]): Promise<Set<string>> {
  return withDatabaseErrors(() => findLeakedSecretIds(deps.db, secretIds));
}
