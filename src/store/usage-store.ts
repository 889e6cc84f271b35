import { and, desc, gte, inArray, sql } from 'drizzle-orm';
import { secretUseHours } from '../../db/schema/index.ts';
import { type DbOrTx, rowsOf } from './database.ts';

/** What one replica counted for one secret in one clock hour since its last flush. */
export interface UseCount {
  secretId: string;
  /** Start of the clock hour (UTC). */
  hour: Date;
  uses: number;
  expiredUses: number;
  firstUsedAt: Date;
  lastUsedAt: Date;
}

/** One text parameter holding a PostgreSQL array literal: the values here never contain `,` `"` `{`. */
const arrayParam = (values: readonly (string | number)[]) => `{${values.join(',')}}`;

/**
 * Adds one flush's counts, in ONE statement however many secrets it holds: hourly rows are incremented
 * (never overwritten), so replicas flushing the same secret and hour add up exactly. Rows go in
 * (secret, hour) order so two replicas flushing overlapping sets lock rows in the same order and cannot
 * deadlock. Only the hourly table is written: the last use is each secret's latest hourly row, and
 * `secret_last_use` takes it over when retention drops that row (one table per flush, not two).
 *
 * The rows travel as six array parameters, not six bound parameters per row (60 000 for 10 000
 * secrets), and the times as whole numbers (ms since the epoch for the hour, then ms from the start of
 * that hour): PostgreSQL reads integers much faster than 30 000 timestamp texts (bench/usage-flush.ts),
 * and the sums are exact (whole microseconds, far below 2^53).
 */
export async function addUseCounts(db: DbOrTx, counts: readonly UseCount[]): Promise<void> {
  const merged = mergeCounts(counts);
  if (merged.length === 0) return;
  const n = merged.length;
  const secretIds = new Array<string>(n);
  const hourMs = new Array<number>(n);
  const uses = new Array<number>(n);
  const expiredUses = new Array<number>(n);
  const firsts = new Array<number>(n);
  const lasts = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const count = merged[i]!;
    const hour = count.hour.getTime();
    secretIds[i] = count.secretId;
    hourMs[i] = hour;
    uses[i] = count.uses;
    expiredUses[i] = count.expiredUses;
    firsts[i] = count.firstUsedAt.getTime() - hour;
    lasts[i] = count.lastUsedAt.getTime() - hour;
  }
  await db.execute(sql`
    insert into secret_use_hours as h (secret_id, hour, uses, expired_uses, first_used_at, last_used_at)
    select b.secret_id, b.hour, b.uses, b.expired_uses,
           b.hour + b.first_ms * interval '1 millisecond', b.hour + b.last_ms * interval '1 millisecond'
      from (select u.secret_id, timestamptz 'epoch' + u.hour_ms * interval '1 millisecond' as hour,
                   u.uses, u.expired_uses, u.first_ms, u.last_ms
              from unnest(
                ${arrayParam(secretIds)}::uuid[],
                ${arrayParam(hourMs)}::bigint[],
                ${arrayParam(uses)}::bigint[],
                ${arrayParam(expiredUses)}::bigint[],
                ${arrayParam(firsts)}::bigint[],
                ${arrayParam(lasts)}::bigint[]
              ) as u(secret_id, hour_ms, uses, expired_uses, first_ms, last_ms)) as b
     order by b.secret_id, b.hour
    on conflict (secret_id, hour) do update set
      uses = h.uses + excluded.uses,
      expired_uses = h.expired_uses + excluded.expired_uses,
      first_used_at = least(h.first_used_at, excluded.first_used_at),
      last_used_at = greatest(h.last_used_at, excluded.last_used_at)`);
}

const bySecretAndHour = (a: UseCount, b: UseCount) =>
  a.secretId === b.secretId ? a.hour.getTime() - b.hour.getTime() : a.secretId < b.secretId ? -1 : 1;

/**
 * ON CONFLICT cannot touch one row twice in a statement: one entry per (secret, hour), sorted. Sorted
 * first, so repeats are neighbours and merge without a lookup table (a drained counter has none).
 */
function mergeCounts(counts: readonly UseCount[]): UseCount[] {
  const sorted = [...counts].sort(bySecretAndHour);
  const merged: UseCount[] = [];
  let last: UseCount | undefined;
  for (const count of sorted) {
    if (last === undefined || bySecretAndHour(last, count) !== 0) {
      last = { ...count };
      merged.push(last);
      continue;
    }
    last.uses += count.uses;
    last.expiredUses += count.expiredUses;
    if (count.firstUsedAt < last.firstUsedAt) last.firstUsedAt = count.firstUsedAt;
    if (count.lastUsedAt > last.lastUsedAt) last.lastUsedAt = count.lastUsedAt;
  }
  return merged;
}

export type UseHourRow = typeof secretUseHours.$inferSelect;

/** Hourly rows of these secrets from `since` on, newest first. */
export async function findUseHours(
  db: DbOrTx,
  secretIds: readonly string[],
  since: Date,
): Promise<UseHourRow[]> {
  if (secretIds.length === 0) return [];
  return db
    .select()
    .from(secretUseHours)
    .where(and(inArray(secretUseHours.secretId, [...secretIds]), gte(secretUseHours.hour, since)))
    .orderBy(desc(secretUseHours.hour), secretUseHours.secretId);
}

/**
 * The last presentation of each of these secrets that has ever been presented: its latest hourly row,
 * or what `secret_last_use` kept of rows retention has dropped.
 */
export async function findLastUses(db: DbOrTx, secretIds: readonly string[]): Promise<Map<string, Date>> {
  if (secretIds.length === 0) return new Map();
  const ids = arrayParam(secretIds);
  const rows = rowsOf<{ secret_id: string; last_used_at: Date | string }>(
    await db.execute(sql`
      select secret_id, max(last_used_at) as last_used_at from (
        select secret_id, last_used_at from secret_last_use where secret_id = any(${ids}::uuid[])
        union all
        select secret_id, max(last_used_at) from secret_use_hours where secret_id = any(${ids}::uuid[])
         group by secret_id
      ) as u group by secret_id`),
  );
  return new Map(rows.map((row) => [row.secret_id, new Date(row.last_used_at)]));
}

/**
 * Retention: drops hourly rows that started before `cutoff` and returns how many went. In the same
 * statement, the last use they held moves to `secret_last_use` (only ever forward), so a secret unused
 * for longer than the retention still shows when it was last presented.
 */
export async function dropUseHoursBefore(db: DbOrTx, cutoff: Date): Promise<number> {
  const rows = rowsOf<{ dropped: number | string }>(
    await db.execute(sql`
      with dropped as (
        delete from secret_use_hours where hour < ${cutoff.toISOString()}::timestamptz
        returning secret_id, last_used_at
      ), kept as (
        insert into secret_last_use as l (secret_id, last_used_at)
        select secret_id, max(last_used_at) from dropped group by secret_id order by secret_id
        on conflict (secret_id) do update set last_used_at = greatest(l.last_used_at, excluded.last_used_at)
      )
      select count(*) as dropped from dropped`),
  );
  return Number(rows[0]?.dropped ?? 0);
}
