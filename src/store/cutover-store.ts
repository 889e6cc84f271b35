import { and, eq, inArray, isNull, sql } from 'drizzle-orm';
import { type NotificationRow, notifications } from '../../db/schema/index.ts';
import { type DbOrTx, rowsOf } from './database.ts';

/** Timestamps go to raw SQL as ISO text with a cast: drizzle's postgres.js setup refuses raw Date params. */
const ts = (at: Date) => sql`${at.toISOString()}::timestamptz`;

/** The expression `secrets_cutover_due_idx` is built on; the queries must use it verbatim. */
const cutoverDue = sql`coalesce(s.cutover_look_at, '-infinity'::timestamptz)`;

/**
 * The next look of a secret that is settled (told, or it expires first): later than any real look, and
 * a date every driver reads back (PostgreSQL's 'infinity' is an Invalid Date to JavaScript).
 */
export const CUTOVER_SETTLED = new Date('9999-12-31T00:00:00.000Z');

/** An old secret the cutover check owes a look, with what the look and its notice need. */
export interface CutoverSecretRow {
  secretId: string;
  keyId: string;
  display: string;
  expiresAt: Date;
  keyName: string;
  alertChannel: string | null;
  keyDeleted: boolean;
  /** The key's current secret: whose use proves the clients moved, and what End grace now names. */
  currentSecretId: string | null;
  /** From the rotation's audit row: when the grace period began, who rotated and through what. */
  rotatedAt: Date | null;
  rotatedBy: string | null;
  rotationSource: string | null;
}

/** Is any old secret owed a cutover look? One range scan of `secrets_cutover_due_idx`, no transaction. */
export async function hasDueCutoverLooks(db: DbOrTx, now: Date): Promise<boolean> {
  const rows = rowsOf(
    await db.execute(sql`
      select 1 from secrets s
       where s.expires_at is not null and s.retired_at is null and ${cutoverDue} <= ${ts(now)}
       order by ${cutoverDue}
       limit 1`),
  );
  return rows.length > 0;
}

interface RawRow {
  secret_id: string;
  key_id: string;
  display: string;
  expires_at: string | Date;
  key_name: string;
  alert_channel: string | null;
  key_deleted: boolean;
  current_secret_id: string | null;
  rotated_at: string | Date | null;
  rotated_by: string | null;
  rotation_source: string | null;
}

const toDate = (v: string | Date) => (v instanceof Date ? v : new Date(v));

/**
 * Locks (`FOR UPDATE SKIP LOCKED`) up to `limit` old secrets owed a look by `now`, for the caller's
 * transaction: replicas looking together take different rows.
 */
export async function lockDueCutoverSecrets(
  tx: DbOrTx,
  now: Date,
  limit: number,
): Promise<CutoverSecretRow[]> {
  const rows = rowsOf<RawRow>(
    await tx.execute(sql`
      select s.id as secret_id, s.key_id, s.display, s.expires_at, k.name as key_name, k.alert_channel,
             (k.deleted_at is not null) as key_deleted,
             (select c.id from secrets c where c.key_id = s.key_id and c.expires_at is null) as current_secret_id,
             r.created_at as rotated_at, r.actor as rotated_by, r.source as rotation_source
        from secrets s
        join keys k on k.id = s.key_id
        left join lateral (
          select a.created_at, a.actor, a.source
            from audit_events a
           where a.old_secret_id = s.id and a.action = 'rotate'
           order by a.seq
           limit 1
        ) r on true
       where s.expires_at is not null and s.retired_at is null and ${cutoverDue} <= ${ts(now)}
       order by ${cutoverDue}
       limit ${limit}
       for update of s skip locked`),
  );
  return rows.map((r) => ({
    secretId: r.secret_id,
    keyId: r.key_id,
    display: r.display,
    expiresAt: toDate(r.expires_at),
    keyName: r.key_name,
    alertChannel: r.alert_channel,
    keyDeleted: r.key_deleted,
    currentSecretId: r.current_secret_id,
    rotatedAt: r.rotated_at === null ? null : toDate(r.rotated_at),
    rotatedBy: r.rotated_by,
    rotationSource: r.rotation_source,
  }));
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
