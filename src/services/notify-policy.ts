import type { KeyRow, NotificationRow } from '../../db/schema/index.ts';
import { formatRotateEvery, rotationDueAt } from '../keys/rotation-policy.ts';
import type { Db } from '../store/database.ts';
import { reclaimNotifications } from '../store/notifications-store.ts';
import {
  cancelOwnPolicyClaims,
  cancelPolicyClaims,
  findKeysOfPolicyClaims,
  findNotificationsOfKeys,
  hasDuePolicyKeys,
  insertPolicyClaims,
  insertPolicySkipped,
  lockDuePolicyKeys,
  type NewPolicyClaim,
  type PolicyBasis,
  planPolicyKeys,
} from '../store/policy-notices-store.ts';
import { CLAIM_RECHECK_MS } from './notice-plan.ts';
import { type PolicyPlan, planPolicyNotice } from './policy-notice-plan.ts';
import { type NoticeResult, type RecordedNotices, recordNoticeOutcomes } from './record-notice-outcomes.ts';

const DAY_MS = 86_400_000;

/** A policy reminder or overdue notice this instance owns and must deliver, then `completePolicyNotices`. */
export interface ClaimedPolicyNotice {
  id: string;
  /** `policy_due:<offset>` or `policy_overdue`. */
  kind: string;
  /** Reminder offset in ms; null for the overdue notice. */
  offsetMs: number | null;
  keyId: string;
  keyName: string;
  /** The rotation due date this notice is about. */
  dueAt: Date;
  /** The policy as written, `90d`. */
  rotateEvery: string;
  /** Who still needs it: the key's alert channel and each maintainer (a DM). */
  pending: Array<{ to: string; as: 'channel' | 'dm' }>;
  deliveredTo: string[];
  attempt: number;
  /** The key's next look once this is delivered; null: the overdue notice, nothing after it. */
  nextAt: Date | null;
  basis: PolicyBasis;
}

export interface PolicyClaimOptions {
  now: Date;
  /** REKEY_POLICY_REMINDERS, in ms. */
  offsets: readonly number[];
  /** Recorded as `claimed_by`: a live instance (a row of `instances`). */
  instanceId: string;
  limit: number;
}

type Recipient = ClaimedPolicyNotice['pending'][number];

/** The alert channel and every maintainer: a policy is the whole team's, not one rotator's. */
export function recipientsOf(key: KeyRow): Recipient[] {
  const list: Recipient[] = key.alertChannel ? [{ to: key.alertChannel, as: 'channel' }] : [];
  for (const user of new Set(key.maintainers)) {
    if (user !== key.alertChannel) list.push({ to: user, as: 'dm' });
  }
  return list;
}

/** Owed and in nobody's hands: released after a failure, or let go of by an instance that stopped. */
const isFree = (n: NotificationRow) => n.status === 'claimed' && n.claimedBy === null;

const noteKey = (keyId: string, dueAt: Date, kind: string) => `${keyId}|${dueAt.toISOString()}|${kind}`;

const DUE_DATE_MOVED = 'cancelled: the key was rotated, deleted or its policy changed since';

/**
 * One transaction: lock a batch of keys whose policy is owed a look, cancel what was pending for a
 * due date that is no longer theirs, decide what is owed now (`planPolicyNotice`) and claim it by a
 * unique (key, due date, kind) row naming this live instance. A claimed key is parked: its holder's
 * outcome sets its next look, and if the holder stops or dies first, the release trigger makes it due
 * at once (docs/architecture.md#notices-exactly-once).
 */
export function claimDuePolicyNotices(
  deps: { db: Db },
  options: PolicyClaimOptions,
): Promise<{ claimed: ClaimedPolicyNotice[]; scanned: number; superseded: string[]; retired: number }> {
  const { now, instanceId } = options;
  const parkedUntil = new Date(now.getTime() + CLAIM_RECHECK_MS);
  return deps.db.transaction(async (tx) => {
    const due = await lockDuePolicyKeys(tx, now, options.limit);
    if (due.length === 0) return { claimed: [], scanned: 0, superseded: [], retired: 0 };
    const rows = await findNotificationsOfKeys(
      tx,
      due.map((k) => k.id),
    );
    const existing = new Map(rows.map((n) => [noteKey(n.keyId!, n.dueAt!, n.kind), n]));
    const plans: Array<PolicyBasis & { at: Date | null }> = [];
    const skipped: Array<{ keyId: string; dueAt: Date; kind: string; reason: string }> = [];
    const inserts: NewPolicyClaim[] = [];
    const reclaims: string[] = [];
    const wanted = new Map<string, { key: KeyRow; dueAt: Date; basis: PolicyBasis; plan: PolicyPlan }>();
    let done = 0;

    // Pending for an older due date (the trigger re-planned the key when it moved): never sent now.
    const outdated = due.flatMap((key) => {
      const dueAt = rotationDueAt(key)!.getTime();
      return rows.filter((n) => n.keyId === key.id && n.dueAt!.getTime() !== dueAt && isFree(n));
    });

    for (const key of due) {
      const days = key.rotateEveryDays!;
      const dueAt = rotationDueAt(key)!;
      const basis: PolicyBasis = { keyId: key.id, since: key.lastRotatedAt ?? key.createdAt, days };
      const plan = planPolicyNotice({ dueAt, periodMs: days * DAY_MS, offsets: options.offsets, now });
      for (const kind of plan.superseded) {
        const prior = existing.get(noteKey(key.id, dueAt, kind));
        if (!prior || isFree(prior)) {
          skipped.push({ keyId: key.id, dueAt, kind, reason: `superseded by ${plan.due?.kind}` });
        }
      }
      const settled = () => {
        plans.push({ ...basis, at: plan.nextAt });
        if (!plan.nextAt) done += 1;
      };
      if (!plan.due) {
        settled();
        continue;
      }
      const prior = existing.get(noteKey(key.id, dueAt, plan.due.kind));
      if (!prior) {
        if (recipientsOf(key).length === 0) {
          skipped.push({
            keyId: key.id,
            dueAt,
            kind: plan.due.kind,
            reason: 'no alert channel or maintainer',
          });
          settled();
          continue;
        }
        inserts.push({
          keyId: key.id,
          dueAt,
          kind: plan.due.kind,
          claimedAt: now,
          claimedBy: instanceId,
          createdAt: now,
        });
      } else if (isFree(prior)) {
        reclaims.push(prior.id);
      } else if (prior.status === 'claimed') {
        // A live instance is sending it: its outcome, or its release, sets the next look.
        plans.push({ ...basis, at: parkedUntil });
        continue;
      } else {
        settled();
        continue;
      }
      wanted.set(noteKey(key.id, dueAt, plan.due.kind), { key, dueAt, basis, plan });
      // Parked while we hold it; completePolicyNotices sets the real next look.
      plans.push({ ...basis, at: parkedUntil });
    }

    const cancelled = await cancelPolicyClaims(
      tx,
      outdated.map((n) => n.id),
      { reason: DUE_DATE_MOVED },
    );
    const owned = [
      ...(await insertPolicyClaims(tx, inserts)),
      ...(await reclaimNotifications(tx, reclaims, { now, by: instanceId })),
    ];
    await insertPolicySkipped(tx, skipped, { now });
    await planPolicyKeys(tx, plans, now);

    const claimed = owned.map((n): ClaimedPolicyNotice => {
      const { key, dueAt, basis, plan } = wanted.get(noteKey(n.keyId!, n.dueAt!, n.kind))!;
      const deliveredTo = n.deliveredTo ?? [];
      return {
        id: n.id,
        kind: n.kind,
        offsetMs: plan.due!.offsetMs,
        keyId: key.id,
        keyName: key.name,
        dueAt,
        rotateEvery: formatRotateEvery(basis.days)!,
        pending: recipientsOf(key).filter((r) => !deliveredTo.includes(r.to)),
        deliveredTo,
        attempt: n.attempts,
        nextAt: plan.nextAt,
        basis,
      };
    });
    return {
      claimed,
      scanned: due.length,
      superseded: [...skipped.map((s) => s.kind), ...cancelled.map(() => 'policy_cancelled')],
      retired: done,
    };
  });
}

/** The idle tick's one indexed statement. */
export function anyPolicyNoticeDue(deps: { db: Db }, now: Date): Promise<boolean> {
  return hasDuePolicyKeys(deps.db, now);
}

/**
 * Just before a round goes out: claims whose key was rotated, deleted or given another policy since
 * they were claimed say something false now. They are cancelled (recorded as skipped) and their ids
 * returned, so they are not sent.
 */
export async function cancelOutdatedPolicyNotices(
  deps: { db: Db },
  input: { notices: ClaimedPolicyNotice[]; instanceId: string },
): Promise<Set<string>> {
  const found = await findKeysOfPolicyClaims(
    deps.db,
    input.notices.map((n) => n.id),
  );
  const outdated = found
    .filter(({ dueAt, key }) => key.deletedAt || rotationDueAt(key)?.getTime() !== dueAt?.getTime())
    .map((f) => f.id);
  await cancelOwnPolicyClaims(deps.db, outdated, input.instanceId, DUE_DATE_MOVED);
  return new Set(outdated);
}

/**
 * Records deliveries. Complete → 'sent' and the key moves on to its next reminder (or is done after
 * the overdue notice). Failed → the claim is released and the key is due again after `retryDelayMs`.
 * Given back unsent → due again at once (the release trigger). Recipients already reached are
 * remembered and never messaged twice.
 */
export async function completePolicyNotices(
  deps: { db: Db },
  input: { results: NoticeResult<ClaimedPolicyNotice>[]; instanceId: string; now: Date },
): Promise<RecordedNotices<ClaimedPolicyNotice>> {
  const { now } = input;
  if (input.results.length === 0) return { sent: [], failed: [], givenBack: [] };
  return deps.db.transaction(async (tx) => {
    const { sent, failed, givenBack, retryAt } = await recordNoticeOutcomes(
      tx,
      input.results,
      input.instanceId,
      now,
    );
    await planPolicyKeys(
      tx,
      [
        ...sent.map((n) => ({ ...n.basis, at: n.nextAt })),
        ...failed.map((n) => ({ ...n.basis, at: retryAt(n) })),
      ],
      now,
    );
    return { sent, failed, givenBack };
  });
}
