import { and, asc, eq, inArray, isNotNull, isNull, lte, or, sql } from 'drizzle-orm';
import { type KeyRow, keys, type PolicyDigestRow, policyDigests } from '../../db/schema/index.ts';
import { type DbOrTx, rowsOf } from './database.ts';

/** Live keys with a rotation policy and an alert channel: the only ones a digest can list. */
export function listKeysWithPolicyAndChannel(db: DbOrTx): Promise<KeyRow[]> {
  return db
    .select()
    .from(keys)
    .where(and(isNull(keys.deletedAt), isNotNull(keys.rotateEveryDays), isNotNull(keys.alertChannel)))
    .orderBy(asc(keys.name));
}

/**
 * Records that these channels are owed `week`'s digest: one row each, unique per (channel, week), so
 * replicas firing together, or a second run, owe it once. A row that exists is left as it is.
 */
export async function insertOwedDigests(
  db: DbOrTx,
  input: { channels: string[]; week: string; now: Date },
): Promise<void> {
  if (input.channels.length === 0) return;
  await db
    .insert(policyDigests)
    .values(
      input.channels.map((channel) => ({
        channel,
        week: input.week,
        status: 'claimed' as const,
        attempts: 0,
        createdAt: input.now,
      })),
    )
    .onConflictDoNothing({ target: [policyDigests.channel, policyDigests.week] });
}

/** `policy_digests_owed_idx`'s predicate plus the week and the retry time: owed, in nobody's hands. */
const owed = (week: string, now: Date) =>
  and(
    eq(policyDigests.status, 'claimed'),
    isNull(policyDigests.claimedBy),
    eq(policyDigests.week, week),
    or(isNull(policyDigests.retryAt), lte(policyDigests.retryAt, now)),
  );

/** Is any digest of `week` owed and free to send by `now`? One index probe. */
export async function hasOwedDigests(db: DbOrTx, at: { week: string; now: Date }): Promise<boolean> {
  const rows = await db.select({ one: sql`1` }).from(policyDigests).where(owed(at.week, at.now)).limit(1);
  return rows.length > 0;
}

/**
 * Claims up to `limit` owed digests for instance `by`: rows locked with SKIP LOCKED, so replicas take
 * different ones, and the WHERE re-checked on each, so exactly one claimer wins a row.
 */
export async function claimOwedDigests(
  db: DbOrTx,
  claim: { week: string; now: Date; by: string; limit: number },
): Promise<PolicyDigestRow[]> {
  const ids = db
    .select({ id: policyDigests.id })
    .from(policyDigests)
    .where(owed(claim.week, claim.now))
    .orderBy(asc(policyDigests.channel))
    .limit(claim.limit)
    .for('update', { skipLocked: true });
  return db
    .update(policyDigests)
    .set({
      claimedBy: claim.by,
      claimedAt: claim.now,
      attempts: sql`${policyDigests.attempts} + 1`,
    })
    .where(and(inArray(policyDigests.id, ids), isNull(policyDigests.claimedBy)))
    .returning();
}

export interface DigestOutcome {
  id: string;
  outcome: 'sent' | 'failed' | 'given_back';
  /** For `failed`: not tried again before this. */
  retryAt: Date | null;
  /** Why it failed, or a note on a digest sent with nothing left to list. */
  note: string | null;
}

/**
 * Writes what happened, only where `by` still holds the claim, and lets go of it. Sent: never again
 * this week. Failed: released until `retryAt`. Given back unsent: released with `claimed_at` kept,
 * which the table's trigger reads as "wake every scheduler". Returns the ids it updated.
 */
export async function recordDigestOutcomes(
  db: DbOrTx,
  outcomes: DigestOutcome[],
  by: string,
  now: Date,
): Promise<string[]> {
  if (outcomes.length === 0) return [];
  const at = (d: Date | null) => (d ? sql`${d.toISOString()}::timestamptz` : sql`null::timestamptz`);
  const values = sql.join(
    outcomes.map((o) => sql`(${o.id}::uuid, ${o.outcome}::text, ${at(o.retryAt)}, ${o.note}::text)`),
    sql`, `,
  );
  const result = await db.execute(sql`
    update policy_digests d
       set status = case when v.outcome = 'sent' then 'sent' else 'claimed' end,
           sent_at = case when v.outcome = 'sent' then ${at(now)} else null end,
           claimed_at = case when v.outcome = 'failed' then null else d.claimed_at end,
           retry_at = case when v.outcome = 'failed' then v.retry_at else d.retry_at end,
           claimed_by = null,
           last_error = v.note
      from (values ${values}) as v(id, outcome, retry_at, note)
     where d.id = v.id and d.status = 'claimed' and d.claimed_by = ${by}
    returning d.id`);
  return rowsOf<{ id: string }>(result).map((r) => r.id);
}
