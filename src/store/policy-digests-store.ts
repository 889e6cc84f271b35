import { and, asc, eq, isNotNull, isNull, lt, lte, or, sql } from 'drizzle-orm';
import { type KeyRow, keys, policyDigests } from '../../db/schema/index.ts';
import type { DbOrTx } from './database.ts';

/** Live keys with a rotation policy and an alert channel: the only ones a digest can list. */
export function listKeysWithPolicyAndChannel(db: DbOrTx): Promise<KeyRow[]> {
  return db
    .select()
    .from(keys)
    .where(and(isNull(keys.deletedAt), isNotNull(keys.rotateEveryDays), isNotNull(keys.alertChannel)))
    .orderBy(asc(keys.name));
}

/**
 * Claims the digest of `channel` for `week`: a new row, or one a failed post released (once its retry
 * time has come) or a dead replica left (its lease ran out). The unique (channel, week) index and the
 * re-checked WHERE make exactly one claimer win. Returns the attempt number, or null if not ours.
 */
export async function claimPolicyDigest(
  tx: DbOrTx,
  claim: { channel: string; week: string; now: Date; staleBefore: Date; by: string },
): Promise<number | null> {
  const [inserted] = await tx
    .insert(policyDigests)
    .values({
      channel: claim.channel,
      week: claim.week,
      status: 'claimed',
      attempts: 1,
      claimedAt: claim.now,
      claimedBy: claim.by,
      createdAt: claim.now,
    })
    .onConflictDoNothing({ target: [policyDigests.channel, policyDigests.week] })
    .returning({ attempts: policyDigests.attempts });
  if (inserted) return inserted.attempts;
  const [taken] = await tx
    .update(policyDigests)
    .set({ claimedAt: claim.now, claimedBy: claim.by, attempts: sql`${policyDigests.attempts} + 1` })
    .where(
      and(
        eq(policyDigests.channel, claim.channel),
        eq(policyDigests.week, claim.week),
        eq(policyDigests.status, 'claimed'),
        or(
          and(isNull(policyDigests.claimedAt), lte(policyDigests.retryAt, claim.now)),
          lt(policyDigests.claimedAt, claim.staleBefore),
        ),
      ),
    )
    .returning({ attempts: policyDigests.attempts });
  return taken ? taken.attempts : null;
}

/** Sent (or nothing left to list): never again this week. Only while this instance holds the claim. */
export async function markPolicyDigestSent(
  db: DbOrTx,
  at: { channel: string; week: string; by: string; now: Date; note?: string },
): Promise<void> {
  await db
    .update(policyDigests)
    .set({ status: 'sent', sentAt: at.now, lastError: at.note ?? null })
    .where(
      and(
        eq(policyDigests.channel, at.channel),
        eq(policyDigests.week, at.week),
        eq(policyDigests.claimedBy, at.by),
        eq(policyDigests.status, 'claimed'),
      ),
    );
}

/** A failed post: release the claim, to be tried again from `retryAt`. */
export async function releasePolicyDigest(
  db: DbOrTx,
  at: { channel: string; week: string; by: string; retryAt: Date; error: string },
): Promise<void> {
  await db
    .update(policyDigests)
    .set({ claimedAt: null, retryAt: at.retryAt, lastError: at.error })
    .where(
      and(
        eq(policyDigests.channel, at.channel),
        eq(policyDigests.week, at.week),
        eq(policyDigests.claimedBy, at.by),
        eq(policyDigests.status, 'claimed'),
      ),
    );
}

/** Channels whose digest of `week` is owed a retry by `now` (released after a failure, or abandoned). */
export async function findDigestsToRetry(
  db: DbOrTx,
  at: { week: string; now: Date; staleBefore: Date },
): Promise<string[]> {
  const rows = await db
    .select({ channel: policyDigests.channel })
    .from(policyDigests)
    .where(
      and(
        eq(policyDigests.week, at.week),
        eq(policyDigests.status, 'claimed'),
        or(
          and(isNull(policyDigests.claimedAt), lte(policyDigests.retryAt, at.now)),
          lt(policyDigests.claimedAt, at.staleBefore),
        ),
      ),
    );
  return rows.map((r) => r.channel);
}
