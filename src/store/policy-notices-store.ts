import { and, eq, inArray, isNull, sql } from 'drizzle-orm';
import { type KeyRow, keys, type NotificationRow, notifications } from '../../db/schema/index.ts';
import type { DbOrTx } from './database.ts';

/** Timestamps go to raw SQL as ISO text with a cast: drizzle's postgres.js setup refuses raw Date params. */
const ts = (at: Date) => sql`${at.toISOString()}::timestamptz`;

/** The expression `keys_policy_notice_due_idx` is built on; the tick's queries must use it verbatim. */
const policyDue = sql`coalesce(${keys.nextPolicyNoticeAt}, '-infinity'::timestamptz)`;
/** The index's predicate: live keys with a policy whose current due date is still owed something. */
const planned = sql`${keys.rotateEveryDays} is not null and ${keys.deletedAt} is null and ${keys.policyNoticesDoneAt} is null`;

/** Is any key's policy owed a look by `now`? One index probe, no transaction: an idle tick's cost. */
export async function hasDuePolicyKeys(db: DbOrTx, now: Date): Promise<boolean> {
  const rows = await db
    .select({ one: sql`1` })
    .from(keys)
    .where(and(planned, sql`${policyDue} <= ${ts(now)}`))
    .orderBy(policyDue)
    .limit(1);
  return rows.length > 0;
}

/**
 * Locks (`FOR UPDATE SKIP LOCKED`) up to `limit` keys whose policy is owed a look by `now`. Replicas
 * ticking together take different keys; a rotation of one of them waits for this short transaction.
 */
export function lockDuePolicyKeys(tx: DbOrTx, now: Date, limit: number): Promise<KeyRow[]> {
  return tx
    .select()
    .from(keys)
    .where(and(planned, sql`${policyDue} <= ${ts(now)}`))
    .orderBy(policyDue)
    .limit(limit)
    .for('update', { of: keys, skipLocked: true });
}

export function findNotificationsOfKeys(db: DbOrTx, keyIds: string[]): Promise<NotificationRow[]> {
  if (keyIds.length === 0) return Promise.resolve([]);
  return db.select().from(notifications).where(inArray(notifications.keyId, keyIds));
}

export type NewPolicyClaim = Required<
  Pick<
    typeof notifications.$inferInsert,
    'keyId' | 'dueAt' | 'kind' | 'claimedAt' | 'claimedBy' | 'createdAt'
  >
>;

/** Inserts claims; the unique (key, due date, kind) index decides who owns each. Returns only ours. */
export async function insertPolicyClaims(tx: DbOrTx, rows: NewPolicyClaim[]): Promise<NotificationRow[]> {
  if (rows.length === 0) return [];
  return tx
    .insert(notifications)
    .values(rows.map((r) => ({ ...r, status: 'claimed' as const, attempts: 1 })))
    .onConflictDoNothing({ target: [notifications.keyId, notifications.dueAt, notifications.kind] })
    .returning();
}

/**
 * Records policy notices that will never be sent (superseded by a later one, nobody to tell). A claim
 * nobody holds is overwritten; one a live instance holds is left alone.
 */
export async function insertPolicySkipped(
  tx: DbOrTx,
  rows: Array<{ keyId: string; dueAt: Date; kind: string; reason: string }>,
  at: { now: Date },
): Promise<void> {
  if (rows.length === 0) return;
  await tx
    .insert(notifications)
    .values(
      rows.map((r) => ({
        keyId: r.keyId,
        dueAt: r.dueAt,
        kind: r.kind,
        status: 'skipped' as const,
        lastError: r.reason,
        createdAt: at.now,
      })),
    )
    .onConflictDoUpdate({
      target: [notifications.keyId, notifications.dueAt, notifications.kind],
      set: { status: 'skipped', lastError: sql`excluded.last_error`, claimedBy: null },
      setWhere: and(eq(notifications.status, 'claimed'), isNull(notifications.claimedBy)),
    });
}

/**
 * Cancels claims nobody holds (released after a failure, or let go of by an instance that stopped)
 * whose due date is no longer the key's: a rotation or a new policy moved it, so they would say
 * something false.
 */
export async function cancelPolicyClaims(
  tx: DbOrTx,
  ids: string[],
  at: { reason: string },
): Promise<string[]> {
  if (ids.length === 0) return [];
  const rows = await tx
    .update(notifications)
    .set({ status: 'skipped', lastError: at.reason, claimedBy: null })
    .where(
      and(
        inArray(notifications.id, ids),
        eq(notifications.status, 'claimed'),
        isNull(notifications.claimedBy),
      ),
    )
    .returning({ id: notifications.id });
  return rows.map((r) => r.id);
}

/** Cancels claims this instance holds (it was about to send them, and they no longer hold true). */
export async function cancelOwnPolicyClaims(
  db: DbOrTx,
  ids: string[],
  by: string,
  reason: string,
): Promise<void> {
  if (ids.length === 0) return;
  await db
    .update(notifications)
    .set({ status: 'skipped', lastError: reason, claimedBy: null })
    .where(
      and(
        inArray(notifications.id, ids),
        eq(notifications.status, 'claimed'),
        eq(notifications.claimedBy, by),
      ),
    );
}

/**
 * What a policy plan was made from: the key's last rotation (or creation) and its policy. A plan's
 * outcome is written only while the key still has that basis; if it moved meanwhile (a rotation, a new
 * policy), the trigger already asked for a fresh plan and an old outcome must not overwrite that.
 */
export interface PolicyBasis {
  keyId: string;
  since: Date;
  days: number;
}

const basisValues = (rows: Array<PolicyBasis & { at: Date | null }>) =>
  sql.join(
    rows.map(
      (r) =>
        sql`(${r.keyId}::uuid, ${ts(r.since)}, ${r.days}::integer, ${r.at ? ts(r.at) : sql`null::timestamptz`})`,
    ),
    sql`, `,
  );

/**
 * Each key's next look (`at`), or, with `at` null, "done": its overdue notice is out and nothing more is
 * owed until the due date moves. Only for keys whose basis is unchanged. One statement.
 */
export async function planPolicyKeys(
  tx: DbOrTx,
  rows: Array<PolicyBasis & { at: Date | null }>,
  now: Date,
): Promise<void> {
  if (rows.length === 0) return;
  await tx.execute(sql`
    update keys k
       set next_policy_notice_at = v.at,
           policy_notices_done_at = case when v.at is null then ${ts(now)} else null end
      from (values ${basisValues(rows)}) as v(id, since, days, at)
     where k.id = v.id and coalesce(k.last_rotated_at, k.created_at) = v.since
       and k.rotate_every_days = v.days`);
}

/** The keys behind these policy claims, to check just before sending that their due date still holds. */
export async function findKeysOfPolicyClaims(
  db: DbOrTx,
  ids: string[],
): Promise<Array<{ id: string; dueAt: Date | null; key: KeyRow }>> {
  if (ids.length === 0) return [];
  const rows = await db
    .select({ id: notifications.id, dueAt: notifications.dueAt, key: keys })
    .from(notifications)
    .innerJoin(keys, eq(keys.id, notifications.keyId))
    .where(inArray(notifications.id, ids));
  return rows;
}
