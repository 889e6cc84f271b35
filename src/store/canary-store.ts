import { and, eq, inArray, isNull, sql } from 'drizzle-orm';
import {
  type CanaryTryRow,
  canaryTries,
  type KeyRow,
  keys,
  type NotificationRow,
  notifications,
  secrets,
} from '../../db/schema/index.ts';
import { CANARY_ALARM_KIND } from '../keys/canary-alarm.ts';
import { type DbOrTx, rowsOf } from './database.ts';

/** Timestamps go to raw SQL as ISO text with a cast: drizzle's postgres.js setup refuses raw Date params. */
const ts = (at: Date) => sql`${at.toISOString()}::timestamptz`;

/** Every live canary's one secret hash (hex) and key: what each replica keeps in memory. */
export function findCanarySecrets(db: DbOrTx): Promise<Array<{ hash: string; keyId: string }>> {
  return db
    .select({ hash: secrets.hash, keyId: secrets.keyId })
    .from(secrets)
    .innerJoin(keys, eq(keys.id, secrets.keyId))
    .where(and(eq(keys.canary, true), isNull(keys.deletedAt)));
}

export type NewCanaryTry = typeof canaryTries.$inferInsert;

/**
 * Records tries in one transaction and makes each tried canary due for a look (unless it already has
 * one planned: the end of its quiet window, a retry). A try whose `dedupe_key` was seen before (a leak
 * report redelivered) is dropped. The insert's statement trigger NOTIFYs `rekey_notices` (source `canary`) at
 * commit, which wakes the alarm delivery on whichever replica sends notices. Returns the tries kept.
 */
export function insertCanaryTries(db: DbOrTx, rows: NewCanaryTry[]): Promise<number> {
  if (rows.length === 0) return Promise.resolve(0);
  return db.transaction(async (tx) => {
    const kept = await tx
      .insert(canaryTries)
      .values(rows)
      .onConflictDoNothing()
      .returning({ keyId: canaryTries.keyId, triedAt: canaryTries.triedAt });
    const firstByKey = new Map<string, Date>();
    for (const row of kept) {
      const first = firstByKey.get(row.keyId);
      if (!first || row.triedAt < first) firstByKey.set(row.keyId, row.triedAt);
    }
    for (const [keyId, first] of firstByKey) {
      await tx
        .update(keys)
        .set({ canaryAlarmAt: sql`coalesce(${keys.canaryAlarmAt}, ${ts(first)})` })
        .where(eq(keys.id, keyId));
    }
    return kept.length;
  });
}

/** The idle sweep's one indexed statement: is any canary owed a look by `now`? */
export async function hasDueCanaryAlarms(db: DbOrTx, now: Date): Promise<boolean> {
  const rows = await db
    .select({ one: sql`1` })
    .from(keys)
    .where(sql`${keys.canaryAlarmAt} <= ${ts(now)}`)
    .orderBy(keys.canaryAlarmAt)
    .limit(1);
  return rows.length > 0;
}

/**
 * Locks up to `limit` canaries owed a look by `now`. `FOR NO KEY UPDATE SKIP LOCKED`: replicas
 * sweeping together take different canaries, and a flush inserting tries (whose foreign key takes a
 * key-share lock on the row) is not held up by it.
 */
export function lockDueCanaryKeys(tx: DbOrTx, now: Date, limit: number): Promise<KeyRow[]> {
  return tx
    .select()
    .from(keys)
    .where(sql`${keys.canaryAlarmAt} <= ${ts(now)}`)
    .orderBy(keys.canaryAlarmAt)
    .limit(limit)
    .for('no key update', { of: keys, skipLocked: true });
}

/** Each canary's latest alarm (sent, skipped or still claimed), by key id. */
export async function findLatestCanaryAlarms(
  db: DbOrTx,
  keyIds: string[],
): Promise<Map<string, NotificationRow>> {
  if (keyIds.length === 0) return new Map();
  const rows = await db
    .selectDistinctOn([notifications.keyId])
    .from(notifications)
    .where(and(inArray(notifications.keyId, keyIds), eq(notifications.kind, CANARY_ALARM_KIND)))
    .orderBy(notifications.keyId, sql`${notifications.dueAt} desc`);
  return new Map(rows.map((row) => [row.keyId!, row]));
}

/** Each canary's tries not told yet: when the first came, by key id (canaries without any are absent). */
export async function findFirstUntoldTries(db: DbOrTx, keyIds: string[]): Promise<Map<string, Date>> {
  if (keyIds.length === 0) return new Map();
  const rows = await db
    .select({ keyId: canaryTries.keyId, first: sql<string | Date>`min(${canaryTries.triedAt})` })
    .from(canaryTries)
    .where(and(inArray(canaryTries.keyId, keyIds), isNull(canaryTries.alarmId)))
    .groupBy(canaryTries.keyId);
  return new Map(rows.map((r) => [r.keyId, toDate(r.first)]));
}

/**
 * Claims alarms (this instance as `claimed_by`, `claimed_at` now), or records them as skipped (nobody
 * to tell), and links every try of each canary not told yet to its alarm, in the caller's transaction.
 * The unique (key, due date, kind) index decides who owns each; only the rows this call inserted are
 * returned, and only their tries are linked.
 */
export async function insertCanaryAlarms(
  tx: DbOrTx,
  rows: Array<{ keyId: string; dueAt: Date; status: 'claimed' | 'skipped'; lastError?: string }>,
  claim: { now: Date; by: string },
): Promise<NotificationRow[]> {
  if (rows.length === 0) return [];
  const inserted = await tx
    .insert(notifications)
    .values(
      rows.map((r) => ({
        keyId: r.keyId,
        dueAt: r.dueAt,
        kind: CANARY_ALARM_KIND,
        status: r.status,
        attempts: r.status === 'claimed' ? 1 : 0,
        claimedAt: r.status === 'claimed' ? claim.now : null,
        claimedBy: r.status === 'claimed' ? claim.by : null,
        lastError: r.lastError ?? null,
        createdAt: claim.now,
      })),
    )
    .onConflictDoNothing({ target: [notifications.keyId, notifications.dueAt, notifications.kind] })
    .returning();
  if (inserted.length > 0) {
    const pairs = sql.join(
      inserted.map((n) => sql`(${n.keyId}::uuid, ${n.id}::uuid)`),
      sql`, `,
    );
    await tx.execute(sql`
      update canary_tries t set alarm_id = v.alarm_id
        from (values ${pairs}) as v(key_id, alarm_id)
       where t.key_id = v.key_id and t.alarm_id is null`);
  }
  return inserted;
}

/** Each canary's next look (`at`), or null: nothing waiting. One statement. */
export async function planCanaryKeys(tx: DbOrTx, plans: Array<{ keyId: string; at: Date | null }>) {
  if (plans.length === 0) return;
  const values = sql.join(
    plans.map((p) => sql`(${p.keyId}::uuid, ${p.at ? ts(p.at) : sql`null::timestamptz`})`),
    sql`, `,
  );
  await tx.execute(sql`
    update keys k set canary_alarm_at = v.at
      from (values ${values}) as v(id, at)
     where k.id = v.id`);
}

/** What one alarm tells: how many tries it covers, the latest one described, and the alarm before it. */
export interface CanaryAlarmContent {
  alarmId: string;
  tries: number;
  /** The latest try with details (an `unrecorded` count has none); null if the alarm covers only counts. */
  latest: CanaryTryRow | null;
  /** The due time of the same canary's previous alarm; null for its first. */
  previousAt: Date | null;
}

/** The content of these alarms, from the tries linked to each. */
export async function findCanaryAlarmContents(
  db: DbOrTx,
  alarmIds: string[],
): Promise<Map<string, CanaryAlarmContent>> {
  if (alarmIds.length === 0) return new Map();
  const list = sql.join(
    alarmIds.map((id) => sql`${id}::uuid`),
    sql`, `,
  );
  const totals = rowsOf<{ alarm_id: string; tries: string | number; previous_at: string | Date | null }>(
    await db.execute(sql`
      select n.id as alarm_id, coalesce(sum(t.count), 0) as tries,
             (select max(p.due_at) from notifications p
               where p.key_id = n.key_id and p.kind = ${CANARY_ALARM_KIND} and p.due_at < n.due_at) as previous_at
        from notifications n
        left join canary_tries t on t.alarm_id = n.id
       where n.id in (${list})
       group by n.id`),
  );
  const latest = await db
    .selectDistinctOn([canaryTries.alarmId])
    .from(canaryTries)
    .where(and(inArray(canaryTries.alarmId, alarmIds), sql`${canaryTries.via} <> 'unrecorded'`))
    .orderBy(canaryTries.alarmId, sql`${canaryTries.triedAt} desc`);
  const latestByAlarm = new Map(latest.map((t) => [t.alarmId!, t]));
  return new Map(
    totals.map((r) => [
      r.alarm_id,
      {
        alarmId: r.alarm_id,
        tries: Number(r.tries),
        latest: latestByAlarm.get(r.alarm_id) ?? null,
        previousAt: r.previous_at === null ? null : toDate(r.previous_at),
      },
    ]),
  );
}

/** Each canary's last try, by key id (never tried: absent). */
export async function findLastCanaryTries(db: DbOrTx, keyIds: string[]): Promise<Map<string, Date>> {
  if (keyIds.length === 0) return new Map();
  const rows = await db
    .select({ keyId: canaryTries.keyId, last: sql<string | Date>`max(${canaryTries.triedAt})` })
    .from(canaryTries)
    .where(inArray(canaryTries.keyId, keyIds))
    .groupBy(canaryTries.keyId);
  return new Map(rows.map((r) => [r.keyId, toDate(r.last)]));
}

const toDate = (v: string | Date) => (v instanceof Date ? v : new Date(v));
