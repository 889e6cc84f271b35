import { and, desc, eq, gt, inArray, isNotNull, isNull, or } from 'drizzle-orm';
import { keys, type LeakReportRow, leakReports, type SecretRow, secrets } from '../../db/schema/index.ts';
import type { DbOrTx } from './database.ts';

export type NewLeakReport = typeof leakReports.$inferInsert;

/**
 * Secrets of live keys among `hashes`, in ONE statement (`hash in (…)` on the unique hash index):
 * however many strings a message or a scanner's batch holds, looking them up costs one round trip.
 * A deleted key's secrets are absent (a deleted key is unknown); a canary's are marked, for its alarm.
 */
export async function findSecretsOfLiveKeysByHashes(
  db: DbOrTx,
  hashes: readonly string[],
): Promise<Array<{ hash: string; secretId: string; keyId: string; canary: boolean }>> {
  if (hashes.length === 0) return [];
  return db
    .select({ hash: secrets.hash, secretId: secrets.id, keyId: secrets.keyId, canary: keys.canary })
    .from(secrets)
    .innerJoin(keys, eq(keys.id, secrets.keyId))
    .where(and(inArray(secrets.hash, [...hashes]), isNull(keys.deletedAt)));
}

export async function findSecretById(db: DbOrTx, id: string): Promise<SecretRow | undefined> {
  const [row] = await db.select().from(secrets).where(eq(secrets.id, id)).limit(1);
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

/** Has rekey already acted by itself on this secret (an earlier report of it)? */
export async function hasLeakAction(tx: DbOrTx, secretId: string): Promise<boolean> {
  const rows = await tx
    .select({ id: leakReports.id })
    .from(leakReports)
    .where(and(eq(leakReports.secretId, secretId), isNotNull(leakReports.action)))
    .limit(1);
  return rows.length > 0;
}

export async function setLeakReportAction(
  tx: DbOrTx,
  reportId: string,
  action: 'rotated' | 'ended',
): Promise<void> {
  await tx.update(leakReports).set({ action }).where(eq(leakReports.id, reportId));
}

/**
 * Each key's latest report of a secret that still works at `now` (current, or old and not yet expired):
 * the key card warns until the leaked secret itself stops, whatever rotations happened meanwhile.
 */
export async function findWorkingLeaks(
  db: DbOrTx,
  keyIds: string[],
  now: Date,
): Promise<Array<{ report: LeakReportRow; secret: SecretRow }>> {
  if (keyIds.length === 0) return [];
  return db
    .selectDistinctOn([leakReports.keyId], { report: leakReports, secret: secrets })
    .from(leakReports)
    .innerJoin(secrets, eq(secrets.id, leakReports.secretId))
    .where(
      and(
        inArray(leakReports.keyId, keyIds),
        eq(leakReports.live, true),
        or(isNull(secrets.expiresAt), gt(secrets.expiresAt, now)),
      ),
    )
    .orderBy(leakReports.keyId, desc(leakReports.reportedAt));
}

/** Old secrets among `secretIds` reported leaked while they still worked: reminders about them say so. */
export async function findLeakedSecretIds(db: DbOrTx, secretIds: string[]): Promise<Set<string>> {
  if (secretIds.length === 0) return new Set();
  const rows = await db
    .selectDistinct({ secretId: leakReports.secretId })
    .from(leakReports)
    .where(and(inArray(leakReports.secretId, secretIds), eq(leakReports.live, true)));
  return new Set(rows.map((r) => r.secretId));
}
