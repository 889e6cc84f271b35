import { and, eq, inArray, isNull, sql } from 'drizzle-orm';
import { type NotificationRow, notifications, secrets } from '../../db/schema/index.ts';
import { type DbOrTx, rowsOf } from './database.ts';
import {
  anyOldSecretDue,
  type DueOldSecret,
  dueOldSecretsSql,
  dueProbeSql,
  findDueOldSecrets,
} from './due-old-secrets.ts';

/** Timestamps go to raw SQL as ISO text with a cast: drizzle's postgres.js setup refuses raw Date params. */
const ts = (at: Date) => sql`${at.toISOString()}::timestamptz`;

/** The expression `secrets_notice_due_idx` is built on; the queries must use it verbatim. */
const noticeDue = sql`coalesce(s.next_notice_at, '-infinity'::timestamptz)`;

/** An old secret owed a grace-period notice look. */
export type DueSecretRow = DueOldSecret;

/** Is any old secret owed a notice look? One range scan of `secrets_notice_due_idx`. */
export function hasDueSecrets(db: DbOrTx, now: Date): Promise<boolean> {
  return anyOldSecretDue(db, noticeDue, now);
}

/** Locks up to `limit` secrets owed a notice look by `now`, for the caller's transaction. */
export function lockDueSecrets(tx: DbOrTx, now: Date, limit: number): Promise<DueSecretRow[]> {
  return findDueOldSecrets(tx, noticeDue, { now, limit });
}

/** The idle tick's one statement and the claim's, as run (the scheduler benchmark EXPLAINs them). */
export const dueProbeQuery = (now: Date) => dueProbeSql(noticeDue, now);
export const dueSecretsQuery = (now: Date, limit: number) => dueOldSecretsSql(noticeDue, { now, limit });

const toDate = (v: string | Date) => (v instanceof Date ? v : new Date(v));

export async function findNotificationsOfSecrets(
  db: DbOrTx,
  secretIds: string[],
): Promise<NotificationRow[]> {
  if (secretIds.length === 0) return [];
  return db.select().from(notifications).where(inArray(notifications.secretId, secretIds));
}

export type NewNotification = typeof notifications.$inferInsert;

/** Inserts claims; the unique (secret, kind) index decides who owns each. Returns only the ones we own. */
export async function insertClaims(tx: DbOrTx, rows: NewNotification[]): Promise<NotificationRow[]> {
  if (rows.length === 0) return [];
  return tx
    .insert(notifications)
    .values(rows)
    .onConflictDoNothing({ target: [notifications.secretId, notifications.kind] })
    .returning();
}

/**
 * Takes over claims nobody holds: released after a failed send, or let go of by an instance that
 * stopped or died (`claimed_by` null either way). The row lock makes concurrent takeovers of one row
 * serialise and the WHERE is re-checked, so exactly one wins.
 */
export async function reclaimNotifications(
  tx: DbOrTx,
  ids: string[],
  claim: { now: Date; by: string },
): Promise<NotificationRow[]> {
  if (ids.length === 0) return [];
  return tx
    .update(notifications)
    .set({ claimedAt: claim.now, claimedBy: claim.by, attempts: sql`${notifications.attempts} + 1` })
    .where(
      and(
        inArray(notifications.id, ids),
        eq(notifications.status, 'claimed'),
        isNull(notifications.claimedBy),
      ),
    )
    .returning();
}

/**
 * Records notifications that will never be sent (superseded by a later one, or nobody to tell). A
 * claim nobody holds is overwritten; one a live instance holds is left alone.
 */
export async function insertSkipped(
  tx: DbOrTx,
  rows: Array<{ secretId: string; kind: string; reason: string }>,
  at: { now: Date },
): Promise<void> {
  if (rows.length === 0) return;
  await tx
    .insert(notifications)
    .values(
      rows.map((r) => ({
        secretId: r.secretId,
        kind: r.kind,
        status: 'skipped' as const,
        lastError: r.reason,
        createdAt: at.now,
      })),
    )
    .onConflictDoUpdate({
      target: [notifications.secretId, notifications.kind],
      set: { status: 'skipped', lastError: sql`excluded.last_error`, claimedBy: null },
      setWhere: and(eq(notifications.status, 'claimed'), isNull(notifications.claimedBy)),
    });
}

/** Sets each secret's next look in one statement. */
export async function setNextNoticeAt(tx: DbOrTx, plans: Array<{ secretId: string; at: Date }>) {
  if (plans.length === 0) return;
  const values = sql.join(
    plans.map((p) => sql`(${p.secretId}::uuid, ${ts(p.at)})`),
    sql`, `,
  );
  await tx.execute(sql`
    update secrets s set next_notice_at = v.at
      from (values ${values}) as v(id, at)
     where s.id = v.id`);
}

/** The expiry has been announced (or there is nobody left to tell): never scanned again. */
export async function retireSecrets(tx: DbOrTx, secretIds: string[], at: Date): Promise<void> {
  if (secretIds.length === 0) return;
  await tx
    .update(secrets)
    .set({ retiredAt: at })
    .where(and(inArray(secrets.id, secretIds), isNull(secrets.retiredAt)));
}

export interface DeliveryOutcome {
  id: string;
  deliveredTo: string[];
  /** Every recipient has it: 'sent'. Otherwise the claim is released. */
  complete: boolean;
  /**
   * Not complete, and nothing failed: the rest was never tried (the scheduler is stopping, or this
   * instance could not be sure it still held the claim). Released with `claimed_at` kept, which the
   * table's trigger reads as "given back": its subject is due again at once and every scheduler woken.
   * Otherwise (a failed post) `claimed_at` is cleared and the caller sets the retry time.
   */
  givenBack: boolean;
  error: string | null;
}

/**
 * Writes what happened to claimed notifications, only where this instance still holds the claim, and
 * lets go of them (`claimed_by` null). Returns the ids it updated.
 */
export async function recordDeliveries(
  tx: DbOrTx,
  outcomes: DeliveryOutcome[],
  by: string,
  now: Date,
): Promise<string[]> {
  if (outcomes.length === 0) return [];
  const values = sql.join(
    outcomes.map(
      (o) =>
        sql`(${o.id}::uuid, ${JSON.stringify(o.deliveredTo)}::jsonb, ${o.complete}::boolean, ${o.givenBack}::boolean, ${o.error}::text)`,
    ),
    sql`, `,
  );
  const result = await tx.execute(sql`
    update notifications n
       set delivered_to = array(select jsonb_array_elements_text(v.delivered)),
           status = case when v.complete then 'sent' else 'claimed' end,
           sent_at = case when v.complete then ${ts(now)} else null end,
           claimed_at = case when v.complete or v.given_back then n.claimed_at else null end,
           claimed_by = null,
           last_error = v.error
      from (values ${values}) as v(id, delivered, complete, given_back, error)
     where n.id = v.id and n.status = 'claimed' and n.claimed_by = ${by}
    returning n.id`);
  return rowsOf<{ id: string }>(result).map((r) => r.id);
}

/**
 * Remembers at once that `recipient` has these notifications, so a crash before the round is recorded
 * resends only to those who did not get it. Only on claims this instance still holds.
 */
export async function addRecipient(db: DbOrTx, ids: string[], recipient: string, by: string): Promise<void> {
  if (ids.length === 0) return;
  await db
    .update(notifications)
    .set({ deliveredTo: sql`array_append(${notifications.deliveredTo}, ${recipient}::text)` })
    .where(
      and(
        inArray(notifications.id, ids),
        eq(notifications.status, 'claimed'),
        eq(notifications.claimedBy, by),
        sql`not (${recipient}::text = any(${notifications.deliveredTo}))`,
      ),
    );
}

/** Refused presentations of an expired secret since its expiry. */
export interface ExpiredUse {
  count: number;
  /**
   * The first one. Usage is counted per clock hour, so in the hour the key expired in this is the
   * expiry itself when that hour also had earlier, valid uses: never later than the real first one.
   */
  firstAt: Date;
  lastAt: Date;
}

/**
 * EXPIRED presentations recorded at or after each secret's expiry (hourly rows whose hour ends after
 * it), by secret id. One statement on the hourly table's primary key.
 */
export async function findExpiredUses(tx: DbOrTx, secretIds: string[]): Promise<Map<string, ExpiredUse>> {
  if (secretIds.length === 0) return new Map();
  const list = sql.join(
    secretIds.map((id) => sql`${id}::uuid`),
    sql`, `,
  );
  const rows = rowsOf<{
    secret_id: string;
    count: string | number;
    first_at: string | Date;
    last_at: string | Date;
  }>(
    await tx.execute(sql`
      select h.secret_id, sum(h.expired_uses) as count,
             min(greatest(h.first_used_at, s.expires_at)) as first_at, max(h.last_used_at) as last_at
        from secret_use_hours h
        join secrets s on s.id = h.secret_id
       where h.secret_id in (${list}) and h.expired_uses > 0
         and s.expires_at is not null and h.hour + interval '1 hour' > s.expires_at
       group by h.secret_id`),
  );
  return new Map(
    rows.map((r) => [
      r.secret_id,
      { count: Number(r.count), firstAt: toDate(r.first_at), lastAt: toDate(r.last_at) },
    ]),
  );
}
