import { formatRotateEvery, rotationDueAt } from '../keys/rotation-policy.ts';
import type { Db } from '../store/database.ts';
import {
  claimOwedDigests as claimDigestRows,
  type DigestOutcome,
  hasOwedDigests,
  insertOwedDigests,
  listKeysWithPolicyAndChannel,
  recordDigestOutcomes,
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

/** One channel's digest of one week, claimed by this instance: what the scheduler sends. */
export interface ClaimedDigest {
  id: string;
  kind: 'digest';
  channel: string;
  week: string;
  attempt: number;
  pending: Array<{ to: string; as: 'channel' }>;
  deliveredTo: string[];
}

/**
 * Records that every channel with something to list is owed `now`'s week's digest (a row per channel
 * and week, so replicas firing together owe it once). Sending it is the scheduler's, like any notice.
 */
export async function recordDigestsOwed(deps: { db: Db }, now: Date): Promise<number> {
  const channels = [...(await digestsDue(deps, now)).keys()];
  await insertOwedDigests(deps.db, { channels, week: digestWeekOf(now), now });
  return channels.length;
}

/** The idle tick's one index probe: is any digest of this week owed and free to send? */
export function anyDigestOwed(deps: { db: Db }, now: Date): Promise<boolean> {
  return hasOwedDigests(deps.db, { week: digestWeekOf(now), now });
}

/**
 * Claims up to `limit` of this week's owed digests for a live instance. Older weeks' are never sent: a
 * digest is about its week.
 */
export async function claimOwedDigests(
  deps: { db: Db },
  claim: { now: Date; instanceId: string; limit: number },
): Promise<{ claimed: ClaimedDigest[]; scanned: number }> {
  const week = digestWeekOf(claim.now);
  const rows = await claimDigestRows(deps.db, {
    week,
    now: claim.now,
    by: claim.instanceId,
    limit: claim.limit,
  });
  const claimed = rows.map(
    (r): ClaimedDigest => ({
      id: r.id,
      kind: 'digest',
      channel: r.channel,
      week: r.week,
      attempt: r.attempts,
      pending: [{ to: r.channel, as: 'channel' }],
      deliveredTo: [],
    }),
  );
  return { claimed, scanned: rows.length };
}

export interface DigestResult {
  notice: ClaimedDigest;
  reached: string[];
  error: string | null;
  givenBack: boolean;
}

/**
 * Records a round of digests: posted → sent, never again this week; failed → tried again on a later
 * tick, backing off like a notice (never given up within the week); given back unsent → owed again at
 * once. `nothingToList`: claims whose channel had nothing left to list when the round went out
 * (rotated since): recorded as sent with that note. Returns what it recorded (claims still ours).
 */
export async function completeDigests(
  deps: { db: Db },
  input: { results: DigestResult[]; nothingToList?: ClaimedDigest[]; instanceId: string; now: Date },
): Promise<{ sent: ClaimedDigest[]; failed: ClaimedDigest[]; givenBack: ClaimedDigest[] }> {
  const { now } = input;
  const rows = input.results.map((r) => {
    const outcome = r.reached.length > 0 ? 'sent' : r.givenBack ? 'given_back' : 'failed';
    const row: DigestOutcome = {
      id: r.notice.id,
      outcome,
      retryAt: outcome === 'failed' ? new Date(now.getTime() + retryDelayMs(r.notice.attempt)) : null,
      note: outcome === 'sent' ? null : r.error,
    };
    return { notice: r.notice, row };
  });
  const quiet = (input.nothingToList ?? []).map(
    (n): DigestOutcome => ({ id: n.id, outcome: 'sent', retryAt: null, note: 'nothing left to list' }),
  );
  const mine = new Set(
    await recordDigestOutcomes(deps.db, [...quiet, ...rows.map((o) => o.row)], input.instanceId, now),
  );
  const recorded = (outcome: DigestOutcome['outcome']) =>
    rows.filter((o) => mine.has(o.row.id) && o.row.outcome === outcome).map((o) => o.notice);
  return { sent: recorded('sent'), failed: recorded('failed'), givenBack: recorded('given_back') };
}
