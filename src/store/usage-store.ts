import { and, desc, gte, inArray, sql } from 'drizzle-orm';
import { secretUseHours } from '../../db/schema/index.ts';
import { withoutKeyStrings } from '../keys/token.ts';
import { type DbOrTx, rowsOf } from './database.ts';

/** What a flush adds for one client of one secret in one hour. */
export interface ClientCount {
  /** IP literal, or null when the gateway passed none. */
  ip: string | null;
  /** At most 256 characters, or null. */
  userAgent: string | null;
  uses: number;
  lastUsedAt: Date;
}

/** What one replica counted for one secret in one clock hour since its last flush. */
export interface UseCount {
  secretId: string;
  /** Start of the clock hour (UTC). */
  hour: Date;
  uses: number;
  expiredUses: number;
  firstUsedAt: Date;
  lastUsedAt: Date;
  /** Of those uses, the ones attributed to a client (a bounded tally: not necessarily all of them). */
  clients?: ClientCount[];
}

/** One text parameter holding a PostgreSQL array literal: the values here never contain `,` `"` `{`. */
const arrayParam = (values: readonly (string | number)[]) => `{${values.join(',')}}`;

/** The same for any text: each element quoted, `"` and `\` escaped, so a user agent travels intact. */
const quotedArrayParam = (values: readonly string[]) =>
  `{${values.map((v) => `"${v.replace(/["\\]/g, '\\$&')}"`).join(',')}}`;

/**
 * A user agent as stored: anything shaped like a key string replaced (a client may put its key
 * anywhere; no table ever holds one), '' for none. The address is an IP literal already.
 */
export const storedUserAgent = (userAgent: string | null) =>
  userAgent === null ? '' : withoutKeyStrings(userAgent);

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
    ${clientRowsCte(merged)}
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

/**
 * The flush's client rows, as a data-modifying CTE of the same statement (nothing when there are
 * none, so a flush without them costs what it did): added to the stored ones, never overwritten, so
 * replicas add up exactly; in key order, so two replicas cannot deadlock on them.
 */
function clientRowsCte(counts: readonly UseCount[]) {
  const rows: Array<{
    secretId: string;
    hourMs: number;
    ip: string;
    userAgent: string;
    uses: number;
    lastMs: number;
  }> = [];
  for (const count of counts) {
    const hourMs = count.hour.getTime();
    const byClient = new Map<string, (typeof rows)[number]>();
    for (const client of count.clients ?? []) {
      const ip = client.ip ?? '';
      const userAgent = storedUserAgent(client.userAgent);
      const id = `${ip}\n${userAgent}`;
      const seen = byClient.get(id);
      const lastMs = client.lastUsedAt.getTime() - hourMs;
      if (seen) {
        seen.uses += client.uses;
        seen.lastMs = Math.max(seen.lastMs, lastMs);
      } else {
        const row = { secretId: count.secretId, hourMs, ip, userAgent, uses: client.uses, lastMs };
        byClient.set(id, row);
        rows.push(row);
      }
    }
  }
  if (rows.length === 0) return sql``;
  return sql`
    with clients as (
      insert into secret_client_hours as c (secret_id, hour, ip, user_agent, uses, last_used_at)
      select u.secret_id, timestamptz 'epoch' + u.hour_ms * interval '1 millisecond', u.ip, u.user_agent, u.uses,
             timestamptz 'epoch' + (u.hour_ms + u.last_ms) * interval '1 millisecond'
        from unnest(
          ${arrayParam(rows.map((r) => r.secretId))}::uuid[],
          ${arrayParam(rows.map((r) => r.hourMs))}::bigint[],
          ${quotedArrayParam(rows.map((r) => r.ip))}::text[],
          ${quotedArrayParam(rows.map((r) => r.userAgent))}::text[],
          ${arrayParam(rows.map((r) => r.uses))}::bigint[],
          ${arrayParam(rows.map((r) => r.lastMs))}::bigint[]
        ) as u(secret_id, hour_ms, ip, user_agent, uses, last_ms)
       order by 1, 2, 3, 4
      on conflict (secret_id, hour, ip, user_agent) do update set
        uses = c.uses + excluded.uses,
        last_used_at = greatest(c.last_used_at, excluded.last_used_at)
    )`;
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
    // Clients are merged per (secret, hour) when their rows are built (clientRowsCte).
    if (count.clients && count.clients.length > 0) last.clients = [...(last.clients ?? []), ...count.clients];
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

/** One client of one secret over a window: its uses and last use, as every replica wrote them. */
export interface ClientUseRow {
  secretId: string;
  /** null: the gateway passed no address. */
  ip: string | null;
  userAgent: string | null;
  uses: number;
  lastUsedAt: Date;
}

/**
 * The clients of these secrets from the hour `since` falls in on, most uses first (then most recent),
 * one row per secret and client. On the primary key (secret, hour, …): no scan of other secrets.
 */
export async function findClientUses(
  db: DbOrTx,
  secretIds: readonly string[],
  since: Date,
): Promise<ClientUseRow[]> {
  if (secretIds.length === 0) return [];
  const rows = rowsOf<{
    secret_id: string;
    ip: string;
    user_agent: string;
    uses: number | string;
    last_used_at: Date | string;
  }>(
    await db.execute(sql`
      select secret_id, ip, user_agent, sum(uses) as uses, max(last_used_at) as last_used_at
        from secret_client_hours
       where secret_id = any(${arrayParam(secretIds)}::uuid[])
         and hour >= date_trunc('hour', ${since.toISOString()}::timestamptz at time zone 'UTC') at time zone 'UTC'
       group by secret_id, ip, user_agent
       order by secret_id, sum(uses) desc, max(last_used_at) desc, ip, user_agent`),
  );
  return rows.map((row) => ({
    secretId: row.secret_id,
    ip: row.ip === '' ? null : row.ip,
    userAgent: row.user_agent === '' ? null : row.user_agent,
    uses: Number(row.uses),
    lastUsedAt: new Date(row.last_used_at),
  }));
}

/**
 * Retention: drops hourly rows that started before `cutoff` and returns how many went. In the same
 * statement, the last use they held moves to `secret_last_use` (only ever forward), so a secret unused
 * for longer than the retention still shows when it was last presented, and the clients' hourly rows
 * of those hours go too.
 */
export async function dropUseHoursBefore(db: DbOrTx, cutoff: Date): Promise<number> {
  const rows = rowsOf<{ dropped: number | string }>(
    await db.execute(sql`
      with dropped_clients as (
        delete from secret_client_hours where hour < ${cutoff.toISOString()}::timestamptz
      ), dropped as (
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
