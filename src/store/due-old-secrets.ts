import { type SQL, sql } from 'drizzle-orm';
import { type DbOrTx, rowsOf } from './database.ts';

/*
 * Old secrets owed a look by the scheduler, read the same way by each kind of look (the grace-period
 * notices, the cutover check): each kind keeps its own next-look column and an index on exactly the
 * expression it passes here as `due`, e.g. coalesce(s.next_notice_at, '-infinity'::timestamptz).
 */

/** Timestamps go to raw SQL as ISO text with a cast: drizzle's postgres.js setup refuses raw Date params. */
const ts = (at: Date) => sql`${at.toISOString()}::timestamptz`;

/** An old secret owed a look, with what the look and its notice need. */
export interface DueOldSecret {
  secretId: string;
  keyId: string;
  /** The key's current secret: whose use proves clients moved, and what End grace now names as seen. */
  currentSecretId: string | null;
  display: string;
  expiresAt: Date;
  keyName: string;
  alertChannel: string | null;
  keyDeleted: boolean;
  /** From the rotation's audit row: when the grace period began, who rotated and through what. */
  rotatedAt: Date | null;
  rotatedBy: string | null;
  rotationSource: string | null;
}

/**
 * Is any old secret owed this look? One range scan of the look's index, no transaction: an idle tick
 * costs this one statement. The ORDER BY keeps the planner on the index even when its statistics are
 * stale (right after many secrets were planned, they still say "all null, all due" and it would pick a
 * sequential scan).
 */
export async function anyOldSecretDue(db: DbOrTx, due: SQL, now: Date): Promise<boolean> {
  return rowsOf(await db.execute(dueProbeSql(due, now))).length > 0;
}

/** The statement of `anyOldSecretDue` (the scheduler benchmark EXPLAINs it). */
export function dueProbeSql(due: SQL, now: Date): SQL {
  return sql`
    select 1 from secrets s
     where s.expires_at is not null and s.retired_at is null and ${due} <= ${ts(now)}
     order by ${due}
     limit 1`;
}

/**
 * Up to `limit` old secrets owed this look by `now`, soonest first, locked (`FOR UPDATE SKIP LOCKED`)
 * for the caller's transaction unless `lock` is false: replicas looking together take different rows
 * instead of queueing behind each other.
 */
export async function findDueOldSecrets(
  tx: DbOrTx,
  due: SQL,
  options: { now: Date; limit: number; lock?: boolean },
): Promise<DueOldSecret[]> {
  const rows = rowsOf<RawRow>(await tx.execute(dueOldSecretsSql(due, options)));
  return rows.map((r) => ({
    secretId: r.secret_id,
    keyId: r.key_id,
    currentSecretId: r.current_secret_id,
    display: r.display,
    expiresAt: toDate(r.expires_at),
    keyName: r.key_name,
    alertChannel: r.alert_channel,
    keyDeleted: r.key_deleted,
    rotatedAt: r.rotated_at === null ? null : toDate(r.rotated_at),
    rotatedBy: r.rotated_by,
    rotationSource: r.rotation_source,
  }));
}

/** The statement of `findDueOldSecrets` (the scheduler benchmark EXPLAINs it). */
export function dueOldSecretsSql(due: SQL, options: { now: Date; limit: number; lock?: boolean }): SQL {
  return sql`
    select s.id as secret_id, s.key_id, s.display, s.expires_at, k.name as key_name, k.alert_channel,
           (select c.id from secrets c where c.key_id = s.key_id and c.expires_at is null) as current_secret_id,
           (k.deleted_at is not null) as key_deleted,
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
     where s.expires_at is not null and s.retired_at is null and ${due} <= ${ts(options.now)}
     order by ${due}
     limit ${options.limit}
     ${options.lock === false ? sql`` : sql`for update of s skip locked`}`;
}

interface RawRow {
  secret_id: string;
  key_id: string;
  current_secret_id: string | null;
  display: string;
  expires_at: string | Date;
  key_name: string;
  alert_channel: string | null;
  key_deleted: boolean;
  rotated_at: string | Date | null;
  rotated_by: string | null;
  rotation_source: string | null;
}

const toDate = (v: string | Date) => (v instanceof Date ? v : new Date(v));
