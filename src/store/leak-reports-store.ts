import { and, desc, eq, inArray, isNull } from 'drizzle-orm';
import {
  type KeyRow,
  keys,
  type LeakReportRow,
  leakReports,
  type SecretRow,
  secrets,
} from '../../db/schema/index.ts';
import type { DbOrTx } from './database.ts';

export type NewLeakReport = typeof leakReports.$inferInsert;

/** The secret with this hash and its key, unless the key was deleted (a deleted key is unknown). */
export async function findSecretOfLiveKeyByHash(
  db: DbOrTx,
  hash: string,
): Promise<{ secret: SecretRow; key: KeyRow } | undefined> {
  const [row] = await db
    .select({ secret: secrets, key: keys })
    .from(secrets)
    .innerJoin(keys, eq(keys.id, secrets.keyId))
    .where(and(eq(secrets.hash, hash), isNull(keys.deletedAt)))
    .limit(1);
  return row;
}

/**
 * Records a report unless this secret was already reported from the same message or URL (the unique
 * indexes decide, across replicas): the row when it is new, undefined when it was not.
 */
export async function insertLeakReportIfNew(
  tx: DbOrTx,
  values: NewLeakReport,
): Promise<LeakReportRow | undefined> {
  const [row] = await tx.insert(leakReports).values(values).onConflictDoNothing().returning();
  return row;
}

/** Each key's latest report of a secret that still worked when it was seen. */
export async function findLatestLiveLeaks(db: DbOrTx, keyIds: string[]): Promise<LeakReportRow[]> {
  if (keyIds.length === 0) return [];
  return db
    .selectDistinctOn([leakReports.keyId])
    .from(leakReports)
    .where(and(inArray(leakReports.keyId, keyIds), eq(leakReports.live, true)))
    .orderBy(leakReports.keyId, desc(leakReports.reportedAt));
}
