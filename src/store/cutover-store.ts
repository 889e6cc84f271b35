import { and, eq, inArray, isNull, sql } from 'drizzle-orm';
import { type NotificationRow, notifications } from '../../db/schema/index.ts';
import type { DbOrTx } from './database.ts';
import { anyOldSecretDue, type DueOldSecret, findDueOldSecrets } from './due-old-secrets.ts';

/** Timestamps go to raw SQL as ISO text with a cast: drizzle's postgres.js setup refuses raw Date params. */
const ts = (at: Date) => sql`${at.toISOString()}::timestamptz`;

/** The expression `secrets_cutover_due_idx` is built on; the queries must use it verbatim. */
const cutoverDue = sql`coalesce(s.cutover_look_at, '-infinity'::timestamptz)`;

/**
 * The next look of a secret that is settled (told, or it expires first): later than any real look, and
 * a date every driver reads back (PostgreSQL's 'infinity' is an Invalid Date to JavaScript).
 */
export const CUTOVER_SETTLED = new Date('9999-12-31T00:00:00.000Z');

/** An old secret the cutover check owes a look. */
export type CutoverSecretRow = DueOldSecret;

/** Is any old secret owed a cutover look? One range scan of `secrets_cutover_due_idx`, no transaction. */
export function hasDueCutoverLooks(db: DbOrTx, now: Date): Promise<boolean> {
  return anyOldSecretDue(db, cutoverDue, now);
}

/** Locks up to `limit` old secrets owed a cutover look by `now`, for the caller's transaction. */
export function lockDueCutoverSecrets(tx: DbOrTx, now: Date, limit: number): Promise<CutoverSecretRow[]> {
  return findDueOldSecrets(tx, cutoverDue, { now, limit });
}

/** The cutover notices of these secrets (one per secret at most: the unique (secret, kind) index). */
export async function findCutoverNotices(
  db: DbOrTx,
  secretIds: readonly string[],
  kind: string,
): Promise<NotificationRow[]> {
  if (secretIds.length === 0) return [];
  return db
    .select()
    .from(notifications)
    .where(and(inArray(notifications.secretId, [...secretIds]), eq(notifications.kind, kind)));
}

/**
 * Claims cutover notices, the one place they are claimed: a new one by inserting its row (the unique
 * (secret, kind) index decides who owns it), one nobody holds (released after a failed send, or let go
 * of by an instance that stopped or died: `claimed_by` null) by taking the row over under its lock, the
 * WHERE checked again so exactly one claimer wins. Returns the rows this instance now owns.
 */
export async function claimCutoverNotices(
  tx: DbOrTx,
  claims: { newFor: readonly string[]; takeOver: readonly string[] },
  claim: { kind: string; now: Date; by: string },
): Promise<NotificationRow[]> {
  const owned: NotificationRow[] = [];
  if (claims.newFor.length > 0) {
    owned.push(
      ...(await tx
        .insert(notifications)
        .values(
          claims.newFor.map((secretId) => ({
            secretId,
            kind: claim.kind,
            status: 'claimed' as const,
            attempts: 1,
            claimedAt: claim.now,
            claimedBy: claim.by,
            createdAt: claim.now,
          })),
        )
        .onConflictDoNothing({ target: [notifications.secretId, notifications.kind] })
        .returning()),
    );
  }
  if (claims.takeOver.length > 0) {
    owned.push(
      ...(await tx
        .update(notifications)
        .set({ claimedAt: claim.now, claimedBy: claim.by, attempts: sql`${notifications.attempts} + 1` })
        .where(
          and(
            inArray(notifications.id, [...claims.takeOver]),
            eq(notifications.status, 'claimed'),
            isNull(notifications.claimedBy),
          ),
        )
        .returning()),
    );
  }
  return owned;
}

/** Records cutover notices that will never be sent (nobody to tell), so they are not looked at again. */
export async function insertCutoverSkipped(
  tx: DbOrTx,
  secretIds: readonly string[],
  at: { kind: string; now: Date; reason: string },
): Promise<void> {
  if (secretIds.length === 0) return;
  await tx
    .insert(notifications)
    .values(
      secretIds.map((secretId) => ({
        secretId,
        kind: at.kind,
        status: 'skipped' as const,
        lastError: at.reason,
        createdAt: at.now,
      })),
    )
    .onConflictDoNothing({ target: [notifications.secretId, notifications.kind] });
}

/** Each secret's next cutover look, in one statement; null settles it (CUTOVER_SETTLED: never due again). */
export async function setCutoverLookAt(
  tx: DbOrTx,
  plans: ReadonlyArray<{ secretId: string; at: Date | null }>,
) {
  if (plans.length === 0) return;
  const values = sql.join(
    plans.map((p) => sql`(${p.secretId}::uuid, ${ts(p.at ?? CUTOVER_SETTLED)})`),
    sql`, `,
  );
  await tx.execute(sql`
    update secrets s set cutover_look_at = v.at
      from (values ${values}) as v(id, at)
     where s.id = v.id`);
}

/** When each of these secrets' cutover notice was sent (sent ones only), by secret id. */
export async function findCutoverSentTimes(
  db: DbOrTx,
  secretIds: readonly string[],
  kind: string,
): Promise<Map<string, Date>> {
  const rows = await findCutoverNotices(db, secretIds, kind);
  return new Map(
    rows.filter((n) => n.status === 'sent' && n.sentAt !== null).map((n) => [n.secretId!, n.sentAt!]),
  );
}
