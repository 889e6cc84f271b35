import { and, desc, gte, inArray, lt, sql } from 'drizzle-orm';
import { secretLastUse, secretUseHours } from '../../db/schema/index.ts';
import type { DbOrTx } from './database.ts';

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
 * deadlock. The last-use table only ever moves forward (`greatest`).
 */
export async function addUseCounts(db: DbOrTx, counts: readonly UseCount[]): Promise<void> {
  const merged = mergeCounts(counts);
  if (merged.length === 0) return;
  await db.execute(sql`
    with batch as (
      select * from unnest(
        ${arrayParam(merged.map((c) => c.secretId))}::uuid[],
        ${arrayParam(merged.map((c) => c.hour.toISOString()))}::timestamptz[],
        ${arrayParam(merged.map((c) => c.uses))}::bigint[],
        ${arrayParam(merged.map((c) => c.expiredUses))}::bigint[],
        ${arrayParam(merged.map((c) => c.firstUsedAt.toISOString()))}::timestamptz[],
        ${arrayParam(merged.map((c) => c.lastUsedAt.toISOString()))}::timestamptz[]
      ) as b(secret_id, hour, uses, expired_uses, first_used_at, last_used_at)
    ), hours as (
      insert into secret_use_hours as h (secret_id, hour, uses, expired_uses, first_used_at, last_used_at)
      select secret_id, hour, uses, expired_uses, first_used_at, last_used_at from batch
       order by secret_id, hour
      on conflict (secret_id, hour) do update set
        uses = h.uses + excluded.uses,
        expired_uses = h.expired_uses + excluded.expired_uses,
        first_used_at = least(h.first_used_at, excluded.first_used_at),
        last_used_at = greatest(h.last_used_at, excluded.last_used_at)
      returning 1
    )
    insert into secret_last_use as l (secret_id, last_used_at)
    select secret_id, max(last_used_at) from batch group by secret_id order by secret_id
    on conflict (secret_id) do update set last_used_at = greatest(l.last_used_at, excluded.last_used_at)`);
}

/** ON CONFLICT cannot touch one row twice in a statement: one entry per (secret, hour), sorted. */
function mergeCounts(counts: readonly UseCount[]): UseCount[] {
  const byKey = new Map<string, UseCount>();
  for (const count of counts) {
    const key = `${count.secretId}|${count.hour.getTime()}`;
    const seen = byKey.get(key);
    if (!seen) {
      byKey.set(key, { ...count });
      continue;
    }
    seen.uses += count.uses;
    seen.expiredUses += count.expiredUses;
    if (count.firstUsedAt < seen.firstUsedAt) seen.firstUsedAt = count.firstUsedAt;
    if (count.lastUsedAt > seen.lastUsedAt) seen.lastUsedAt = count.lastUsedAt;
  }
  return [...byKey.values()].sort((a, b) =>
    a.secretId === b.secretId ? a.hour.getTime() - b.hour.getTime() : a.secretId < b.secretId ? -1 : 1,
  );
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

/** The last presentation of each of these secrets that has ever been presented. */
export async function findLastUses(db: DbOrTx, secretIds: readonly string[]): Promise<Map<string, Date>> {
  if (secretIds.length === 0) return new Map();
  const rows = await db
    .select()
    .from(secretLastUse)
    .where(inArray(secretLastUse.secretId, [...secretIds]));
  return new Map(rows.map((row) => [row.secretId, row.lastUsedAt]));
}

/** Retention: drops hourly rows that started before `cutoff`; returns how many went. */
export async function dropUseHoursBefore(db: DbOrTx, cutoff: Date): Promise<number> {
  const result = await db
    .delete(secretUseHours)
    .where(lt(secretUseHours.hour, cutoff))
    .returning({ secretId: secretUseHours.secretId });
  return result.length;
}
