import type { NotificationRow } from '../../db/schema/index.ts';
import { HOUR_MS, usesWithin } from '../keys/usage.ts';
import {
  type CutoverSecretRow,
  claimCutoverNotices,
  findCutoverNotices,
  hasDueCutoverLooks,
  insertCutoverSkipped,
  lockDueCutoverSecrets,
  setCutoverLookAt,
} from '../store/cutover-store.ts';
import type { Db, DbOrTx } from '../store/database.ts';
import { findUseHours, type UseHourRow } from '../store/usage-store.ts';
import { CUTOVER_KIND, planCutover } from './cutover-plan.ts';
import { CLAIM_RECHECK_MS } from './notice-plan.ts';
import { type NoticeResult, type RecordedNotices, recordNoticeOutcomes } from './record-notice-outcomes.ts';

/** A cutover notice this instance has claimed and must deliver, then report with `completeCutovers`. */
export interface ClaimedCutover {
  id: string;
  kind: string;
  secretId: string;
  keyId: string;
  keyName: string;
  /** The old secret's display form. Never a key string. */
  oldDisplay: string;
  expiresAt: Date;
  /** The key's current secret when claimed (what End grace now names as seen). */
  currentSecretId: string | null;
  /** The old key's last call: it has had none since. */
  oldLastUsedAt: Date;
  /** Calls of the current secret since then. */
  currentCalls: number;
  /** The alert channel and, for a rotation made in Slack, the rotator (a DM). */
  pending: Array<{ to: string; as: 'channel' | 'dm' }>;
  deliveredTo: string[];
  attempt: number;
  /** Nothing follows a cutover notice: it is one per secret. */
  nextAt: null;
}

function recipientsOf(row: CutoverSecretRow): ClaimedCutover['pending'] {
  const list: ClaimedCutover['pending'] = [];
  if (row.alertChannel) list.push({ to: row.alertChannel, as: 'channel' });
  if (row.rotationSource === 'slack' && row.rotatedBy && row.rotatedBy !== row.alertChannel) {
    list.push({ to: row.rotatedBy, as: 'dm' });
  }
  return list;
}

/** Owed and in nobody's hands: released after a failure, or let go of by an instance that stopped. */
const isFree = (n: NotificationRow) => n.status === 'claimed' && n.claimedBy === null;

/** The idle tick's one indexed statement. */
export function anyCutoverDue(deps: { db: Db }, now: Date): Promise<boolean> {
  return hasDueCutoverLooks(deps.db, now);
}

/** The longest grace period (72 h) and the hour it started in: every use since a rotation is in here. */
const USE_WINDOW_MS = 73 * HOUR_MS;

interface SecretUse {
  lastUsedAt: Date | null;
  hours: UseHourRow[];
}

async function usesOf(tx: DbOrTx, ids: string[], now: Date): Promise<Map<string, SecretUse>> {
  const rows = await findUseHours(tx, ids, new Date(now.getTime() - USE_WINDOW_MS));
  const uses = new Map<string, SecretUse>();
  for (const row of rows) {
    const use = uses.get(row.secretId) ?? { lastUsedAt: null, hours: [] };
    uses.set(row.secretId, use);
    use.hours.push(row);
    if (use.lastUsedAt === null || row.lastUsedAt > use.lastUsedAt) use.lastUsedAt = row.lastUsedAt;
  }
  return uses;
}

/**
 * One transaction: lock a batch of old secrets owed a cutover look, decide for each (`planCutover`),
 * claim the notices owed now (one row per secret: once, across replicas and restarts) and plan the
 * next look of the others. A claim names this live instance; a claimed secret is parked while it is
 * held, and when its holder stops or dies the release trigger makes it due at once
 * (docs/architecture.md#notices-exactly-once).
 */
export function claimDueCutovers(
  deps: { db: Db },
  options: { now: Date; quietAfterMs: number; instanceId: string; limit: number },
): Promise<{ claimed: ClaimedCutover[]; scanned: number; superseded: string[]; retired: number }> {
  const { now, instanceId } = options;
  const parkedUntil = new Date(now.getTime() + CLAIM_RECHECK_MS);
  return deps.db.transaction(async (tx) => {
    const due = await lockDueCutoverSecrets(tx, now, options.limit);
    if (due.length === 0) return { claimed: [], scanned: 0, superseded: [], retired: 0 };
    const existing = new Map(
      (
        await findCutoverNotices(
          tx,
          due.map((d) => d.secretId),
          CUTOVER_KIND,
        )
      ).map((n) => [n.secretId!, n]),
    );
    const ids = due.flatMap((d) => (d.currentSecretId ? [d.secretId, d.currentSecretId] : [d.secretId]));
    const uses = await usesOf(tx, ids, now);
    const plans: Array<{ secretId: string; at: Date | null }> = [];
    const newFor: string[] = [];
    const takeOver: string[] = [];
    const skipped: string[] = [];
    const wanted = new Map<string, CutoverSecretRow>();
    for (const row of due) {
      const prior = existing.get(row.secretId);
      if (row.keyDeleted || (prior && prior.status !== 'claimed')) {
        // Told (or skipped) already, or its key is gone: never again.
        plans.push({ secretId: row.secretId, at: null });
        continue;
      }
      if (prior && !isFree(prior)) {
        // A live instance is sending it: its outcome, or its release, sets the next look.
        plans.push({ secretId: row.secretId, at: parkedUntil });
        continue;
      }
      const plan = planCutover({
        now,
        expiresAt: row.expiresAt,
        rotatedAt: row.rotatedAt,
        oldLastUsedAt: uses.get(row.secretId)?.lastUsedAt ?? null,
        currentLastUsedAt: row.currentSecretId ? (uses.get(row.currentSecretId)?.lastUsedAt ?? null) : null,
        quietAfterMs: options.quietAfterMs,
      });
      if (!plan.due) {
        plans.push({ secretId: row.secretId, at: plan.nextAt });
        continue;
      }
      if (!prior && recipientsOf(row).length === 0) {
        skipped.push(row.secretId);
        plans.push({ secretId: row.secretId, at: null });
        continue;
      }
      (prior ? takeOver : newFor).push(prior ? prior.id : row.secretId);
      wanted.set(row.secretId, row);
      // Parked while we hold it; completeCutovers settles it (or plans the retry).
      plans.push({ secretId: row.secretId, at: parkedUntil });
    }
    const owned = await claimCutoverNotices(
      tx,
      { newFor, takeOver },
      { kind: CUTOVER_KIND, now, by: instanceId },
    );
    await insertCutoverSkipped(tx, skipped, {
      kind: CUTOVER_KIND,
      now,
      reason: 'no alert channel or rotator',
    });
    await setCutoverLookAt(tx, plans);
    const claimed = owned.map((n): ClaimedCutover => {
      const row = wanted.get(n.secretId!)!;
      const oldLastUsedAt = uses.get(row.secretId)!.lastUsedAt!;
      const current = row.currentSecretId ? uses.get(row.currentSecretId) : undefined;
      const deliveredTo = n.deliveredTo ?? [];
      return {
        id: n.id,
        kind: n.kind,
        secretId: row.secretId,
        keyId: row.keyId,
        keyName: row.keyName,
        oldDisplay: row.display,
        expiresAt: row.expiresAt,
        currentSecretId: row.currentSecretId,
        oldLastUsedAt,
        currentCalls: usesWithin(current?.hours ?? [], now, now.getTime() - oldLastUsedAt.getTime()),
        pending: recipientsOf(row).filter((r) => !deliveredTo.includes(r.to)),
        deliveredTo,
        attempt: n.attempts,
        nextAt: null,
      };
    });
    return { claimed, scanned: due.length, superseded: [], retired: 0 };
  });
}

/**
 * Records deliveries: sent → the secret is settled (never looked at again); failed → the claim is
 * released and the secret looked at again after the notices' backoff; given back unsent (a stopping
 * scheduler) → due again at once (the release trigger).
 */
export async function completeCutovers(
  deps: { db: Db },
  input: { results: NoticeResult<ClaimedCutover>[]; instanceId: string; now: Date },
): Promise<RecordedNotices<ClaimedCutover>> {
  if (input.results.length === 0) return { sent: [], failed: [], givenBack: [] };
  return deps.db.transaction(async (tx) => {
    const { sent, failed, givenBack, retryAt } = await recordNoticeOutcomes(
      tx,
      input.results,
      input.instanceId,
      input.now,
    );
    await setCutoverLookAt(tx, [
      ...sent.map((n) => ({ secretId: n.secretId, at: null })),
      ...failed.map((n) => ({ secretId: n.secretId, at: retryAt(n) })),
    ]);
    return { sent, failed, givenBack };
  });
}
