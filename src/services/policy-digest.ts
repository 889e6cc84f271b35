import { formatRotateEvery, rotationDueAt } from '../keys/rotation-policy.ts';
import type { Db } from '../store/database.ts';
import {
  claimPolicyDigest,
  findDigestsToRetry,
  listKeysWithPolicyAndChannel,
  markPolicyDigestSent,
  releasePolicyDigest,
} from '../store/policy-digests-store.ts';
import { retryDelayMs } from './notice-plan.ts';

const DAY_MS = 86_400_000;
/** The digest lists keys overdue or due within this long. */
export const DIGEST_HORIZON_MS = 7 * DAY_MS;

/** One key a digest lists. Names and ids only. */
export interface DigestKey {
  keyId: string;
  keyName: string;
  dueAt: Date;
  rotateEvery: string;
}

/** The Monday (UTC) that starts `now`'s week, `2026-03-02`: a digest is owed once per channel and week. */
export function digestWeekOf(now: Date): string {
  const day = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  day.setUTCDate(day.getUTCDate() - ((day.getUTCDay() + 6) % 7));
  return day.toISOString().slice(0, 10);
}

/**
 * Every alert channel's keys that are overdue or due within 7 days of `now`, most overdue first. A
 * channel with none is absent: it gets no digest.
 */
export async function digestsDue(deps: { db: Db }, now: Date): Promise<Map<string, DigestKey[]>> {
  const byChannel = new Map<string, DigestKey[]>();
  for (const key of await listKeysWithPolicyAndChannel(deps.db)) {
    const dueAt = rotationDueAt(key)!;
    if (dueAt.getTime() > now.getTime() + DIGEST_HORIZON_MS) continue;
    const list = byChannel.get(key.alertChannel!) ?? [];
    list.push({
      keyId: key.id,
      keyName: key.name,
      dueAt,
      rotateEvery: formatRotateEvery(key.rotateEveryDays)!,
    });
    byChannel.set(key.alertChannel!, list);
  }
  for (const list of byChannel.values()) {
    list.sort((a, b) => a.dueAt.getTime() - b.dueAt.getTime() || a.keyName.localeCompare(b.keyName));
  }
  return byChannel;
}

export interface DigestClaim {
  channel: string;
  week: string;
  now: Date;
  instanceId: string;
  leaseMs: number;
}

/** Claims one channel's digest for the week; the attempt number, or null if another replica has it. */
export function claimDigest(deps: { db: Db }, claim: DigestClaim): Promise<number | null> {
  return claimPolicyDigest(deps.db, {
    channel: claim.channel,
    week: claim.week,
    now: claim.now,
    staleBefore: new Date(claim.now.getTime() - claim.leaseMs),
    by: claim.instanceId,
  });
}

/** Records a posted digest (or one with nothing left to list): not sent again this week. */
export function digestSent(
  deps: { db: Db },
  input: { channel: string; week: string; instanceId: string; now: Date; note?: string },
): Promise<void> {
  return markPolicyDigestSent(deps.db, { ...input, by: input.instanceId });
}

/** A failed post: tried again on a later tick, backing off like a notice (never given up within the week). */
export function digestFailed(
  deps: { db: Db },
  input: { channel: string; week: string; instanceId: string; now: Date; attempt: number; error: string },
): Promise<void> {
  return releasePolicyDigest(deps.db, {
    channel: input.channel,
    week: input.week,
    by: input.instanceId,
    retryAt: new Date(input.now.getTime() + retryDelayMs(input.attempt)),
    error: input.error,
  });
}

/** Channels whose digest this week failed or was abandoned and is owed another try now. */
export function digestsToRetry(deps: { db: Db }, input: { now: Date; leaseMs: number }): Promise<string[]> {
  return findDigestsToRetry(deps.db, {
    week: digestWeekOf(input.now),
    now: input.now,
    staleBefore: new Date(input.now.getTime() - input.leaseMs),
  });
}
