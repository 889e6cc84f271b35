import type { NotificationRow } from '../../db/schema/index.ts';
import type { Db } from '../store/database.ts';
import {
  addRecipient,
  type DueSecretRow,
  type ExpiredUse,
  findExpiredUses,
  findNotificationsOfSecrets,
  hasDueSecrets,
  insertClaims,
  insertSkipped,
  lockDueSecrets,
  type NewNotification,
  reclaimNotifications,
  retireSecrets,
  setNextNoticeAt,
} from '../store/notifications-store.ts';
import { CLAIM_RECHECK_MS, type NoticePlan, planNotice } from './notice-plan.ts';
import { type NoticeResult, type RecordedNotices, recordNoticeOutcomes } from './record-notice-outcomes.ts';

/** One notification this instance now owns and must deliver, then report with `completeNotices`. */
export interface ClaimedNotice {
  id: string;
  secretId: string;
  kind: string;
  /** Reminder offset in ms; null for the expiry alert. */
  offsetMs: number | null;
  keyId: string;
  /** The key's current secret when the notice was claimed (for End grace now). */
  currentSecretId: string | null;
  keyName: string;
  /** The old secret's display form (`rk_live_AbCd…wxyz`). Never a key string. */
  oldDisplay: string;
  expiresAt: Date;
  /** Who still needs it: the alert channel and, for reminders of Slack rotations, the rotator (a DM). */
  pending: Array<{ to: string; as: 'channel' | 'dm' }>;
  /** Who already has it from an earlier, partly failed attempt. */
  deliveredTo: string[];
  attempt: number;
  /** The secret's next look after this notice is delivered. Null: retire it (the alert is out). */
  nextAt: Date | null;
  /** For `used_after_expiry`: how often and when the old key was refused since it expired. */
  afterExpiry: ExpiredUse | null;
}

export interface ClaimBatch {
  claimed: ClaimedNotice[];
  /** Due secrets looked at (a full batch means more may be waiting). */
  scanned: number;
  superseded: string[];
  retired: number;
}

export interface ClaimOptions {
  now: Date;
  offsets: readonly number[];
  /** Recorded as `claimed_by`: a live instance (a row of `instances`). */
  instanceId: string;
  limit: number;
}

type Recipient = ClaimedNotice['pending'][number];

function recipientsOf(row: DueSecretRow, kind: string): Recipient[] {
  const list: Recipient[] = [];
  if (row.alertChannel) list.push({ to: row.alertChannel, as: 'channel' });
  // The rotator hears about reminders in a DM; the expiry and what broke after it are the channel's.
  if (kind.startsWith('reminder:') && row.rotationSource === 'slack' && row.rotatedBy) {
    if (row.rotatedBy !== row.alertChannel) list.push({ to: row.rotatedBy, as: 'dm' });
  }
  return list;
}

/** Owed and in nobody's hands: released after a failure, or let go of by an instance that stopped. */
const isFree = (n: NotificationRow) => n.status === 'claimed' && n.claimedBy === null;

/**
 * One transaction: lock a batch of due secrets, decide for each what is owed now (`planNotice`), and
 * claim it by a unique (secret, kind) row naming this live instance. A claimed secret is parked: its
 * holder's outcome sets its next look, and if the holder stops or dies first, the release trigger
 * makes it due at once (docs/architecture.md#notices-exactly-once).
 */
export async function claimDueNotices(deps: { db: Db }, options: ClaimOptions): Promise<ClaimBatch> {
  const { now, instanceId } = options;
  const parkedUntil = new Date(now.getTime() + CLAIM_RECHECK_MS);
  return deps.db.transaction(async (tx) => {
    const due = await lockDueSecrets(tx, now, options.limit);
    if (due.length === 0) return { claimed: [], scanned: 0, superseded: [], retired: 0 };
    const existing = new Map(
      (
        await findNotificationsOfSecrets(
          tx,
          due.map((d) => d.secretId),
        )
      ).map((n) => [`${n.secretId}:${n.kind}`, n]),
    );
    // Expired secrets are watched for refused presentations (planAfterExpiry); one read for the batch.
    const expiredUses = await findExpiredUses(
      tx,
      due.filter((d) => d.expiresAt <= now).map((d) => d.secretId),
    );
    const next = new Map<string, Date>();
    const retire: string[] = [];
    const skipped: Array<{ secretId: string; kind: string; reason: string }> = [];
    const inserts: NewNotification[] = [];
    const reclaims: string[] = [];
    const wanted = new Map<string, { row: DueSecretRow; plan: NoticePlan }>();

    for (const row of due) {
      if (row.keyDeleted) {
        // A deleted key's secrets no longer verify at all; there is nothing left to warn anyone about.
        retire.push(row.secretId);
        continue;
      }
      const plan = planNotice({
        expiresAt: row.expiresAt,
        graceStartedAt: row.rotatedAt,
        offsets: options.offsets,
        now,
        firstExpiredUseAt: expiredUses.get(row.secretId)?.firstAt ?? null,
      });
      for (const kind of plan.superseded) {
        const prior = existing.get(`${row.secretId}:${kind}`);
        if (!prior || isFree(prior)) {
          skipped.push({ secretId: row.secretId, kind, reason: `superseded by ${plan.due?.kind}` });
        }
      }
      const settled = () => (plan.nextAt ? next.set(row.secretId, plan.nextAt) : retire.push(row.secretId));
      if (!plan.due) {
        settled();
        continue;
      }
      const prior = existing.get(`${row.secretId}:${plan.due.kind}`);
      if (!prior) {
        if (recipientsOf(row, plan.due.kind).length === 0) {
          skipped.push({
            secretId: row.secretId,
            kind: plan.due.kind,
            reason: 'no alert channel or rotator',
          });
          settled();
          continue;
        }
        inserts.push({
          secretId: row.secretId,
          kind: plan.due.kind,
          status: 'claimed',
          attempts: 1,
          claimedAt: now,
          claimedBy: instanceId,
          createdAt: now,
        });
      } else if (isFree(prior)) {
        reclaims.push(prior.id);
      } else if (prior.status === 'claimed') {
        // A live instance is sending it: its outcome, or its release, sets the next look.
        next.set(row.secretId, parkedUntil);
        continue;
      } else {
        settled();
        continue;
      }
      wanted.set(`${row.secretId}:${plan.due.kind}`, { row, plan });
      // Parked while we hold it; completeNotices sets the real next look (or retires the secret).
      next.set(row.secretId, parkedUntil);
    }

    const owned = [
      ...(await insertClaims(tx, inserts)),
      ...(await reclaimNotifications(tx, reclaims, { now, by: instanceId })),
    ];
    await insertSkipped(tx, skipped, { now });
    await setNextNoticeAt(
      tx,
      [...next].map(([secretId, at]) => ({ secretId, at })),
    );
    await retireSecrets(tx, retire, now);

    const claimed = owned.map((n): ClaimedNotice => {
      const { row, plan } = wanted.get(`${n.secretId}:${n.kind}`)!;
      const deliveredTo = n.deliveredTo ?? [];
      return {
        id: n.id,
        secretId: row.secretId,
        kind: n.kind,
        offsetMs: plan.due!.offsetMs,
        keyId: row.keyId,
        currentSecretId: row.currentSecretId,
        keyName: row.keyName,
        oldDisplay: row.display,
        expiresAt: row.expiresAt,
        pending: recipientsOf(row, n.kind).filter((r) => !deliveredTo.includes(r.to)),
        deliveredTo,
        attempt: n.attempts,
        nextAt: plan.nextAt,
        afterExpiry: expiredUses.get(row.secretId) ?? null,
      };
    });
    return {
      claimed,
      scanned: due.length,
      superseded: skipped.map((s) => s.kind),
      retired: retire.length,
    };
  });
}

/** The idle tick's one indexed statement. */
export function anyNoticeDue(deps: { db: Db }, now: Date): Promise<boolean> {
  return hasDueSecrets(deps.db, now);
}

/**
 * Records, right after its post succeeded, that `recipient` has these notices (one statement): if
 * the process dies before `completeNotices`, whoever takes the claims over skips that recipient.
 */
export function recordRecipientReached(
  deps: { db: Db },
  input: { ids: string[]; recipient: string; instanceId: string },
): Promise<void> {
  return addRecipient(deps.db, input.ids, input.recipient, input.instanceId);
}

/**
 * Records deliveries. Complete → 'sent' and the secret moves on to its next reminder (or is retired
 * after the expiry alert). Failed → the claim is released and the secret is due again after
 * `retryDelayMs` (the next tick at first). Given back unsent → due again at once (the release
 * trigger). Recipients already reached are remembered and never messaged twice.
 */
export async function completeNotices(
  deps: { db: Db },
  input: { results: NoticeResult<ClaimedNotice>[]; instanceId: string; now: Date },
): Promise<RecordedNotices<ClaimedNotice>> {
  const { now } = input;
  if (input.results.length === 0) return { sent: [], failed: [], givenBack: [] };
  return deps.db.transaction(async (tx) => {
    const { sent, failed, givenBack, retryAt } = await recordNoticeOutcomes(
      tx,
      input.results,
      input.instanceId,
      now,
    );
    await setNextNoticeAt(tx, [
      ...sent.filter((n) => n.nextAt).map((n) => ({ secretId: n.secretId, at: n.nextAt! })),
      ...failed.map((n) => ({ secretId: n.secretId, at: retryAt(n) })),
    ]);
    await retireSecrets(
      tx,
      sent.filter((n) => n.nextAt === null).map((n) => n.secretId),
      now,
    );
    return { sent, failed, givenBack };
  });
}
