import type { CanaryPlace, CanaryVia, KeyRow, NotificationRow } from '../../db/schema/index.ts';
import { CANARY_QUIET_MS, nextCanaryAlarmAt } from '../keys/canary-alarm.ts';
import {
  type CanaryAlarmContent,
  findCanaryAlarmContents,
  findFirstUntoldTries,
  findLatestCanaryAlarms,
  hasDueCanaryAlarms,
  insertCanaryAlarms,
  lockDueCanaryKeys,
  planCanaryKeys,
} from '../store/canary-store.ts';
import type { Db } from '../store/database.ts';
import { reclaimNotifications } from '../store/notifications-store.ts';
import { findCurrentSecretsForKeys } from '../store/secrets-store.ts';
import { CLAIM_RECHECK_MS } from './notice-plan.ts';
import { recipientsOf } from './notify-policy.ts';
import { type NoticeResult, type RecordedNotices, recordNoticeOutcomes } from './record-notice-outcomes.ts';

/** One presentation of a canary as its alarm describes it. Never a key string. */
export interface CanaryTryView {
  triedAt: Date;
  via: CanaryVia;
  clientIp: string | null;
  userAgent: string | null;
  uri: string | null;
  method: string | null;
  askedBy: string | null;
  place: CanaryPlace | null;
}

/** A canary's alarm this instance owns and must deliver, then `completeCanaryAlarms`. */
export interface ClaimedCanaryAlarm {
  id: string;
  kind: string;
  keyId: string;
  keyName: string;
  /** The canary's display form (`rk_live_AbCd…wxyz`), so people recognise which decoy it was. */
  display: string;
  /** When the alarm became due (its first try, or the end of the previous alarm's quiet window). */
  dueAt: Date;
  /** Presentations it tells of. */
  tries: number;
  /** The latest of them, described; null when all it covers is a count (the try queue overflowed). */
  latest: CanaryTryView | null;
  /** When the previous alarm about this canary was due; null for its first. */
  previousAt: Date | null;
  pending: Array<{ to: string; as: 'channel' | 'dm' }>;
  deliveredTo: string[];
  attempt: number;
  /** Nothing caps a retry: the next alarm waits for this one. */
  nextAt: null;
}

/** Owed and in nobody's hands: released after a failure, or let go of by an instance that stopped. */
const isFree = (n: NotificationRow) => n.status === 'claimed' && n.claimedBy === null;

/** The idle sweep's one indexed statement. */
export function anyCanaryAlarmDue(deps: { db: Db }, now: Date): Promise<boolean> {
  return hasDueCanaryAlarms(deps.db, now);
}

/**
 * One transaction: lock the canaries owed a look, and for each either take over its alarm that was
 * left unsent (released after a failure, or its claimer died), or claim a new alarm for the tries not
 * told yet once CANARY_QUIET_MS have passed since the previous one (`nextCanaryAlarmAt`), or plan the
 * next look. The key row lock makes one claimer per canary at a time; the unique (key, due date, kind)
 * row makes each alarm go out once across replicas and restarts. A claim names this live instance; a
 * claimed canary is parked while it is held, and when its holder stops or dies the release trigger makes
 * it due at once (docs/architecture.md#notices-exactly-once).
 */
export function claimCanaryAlarms(
  deps: { db: Db },
  options: { now: Date; instanceId: string; limit: number },
): Promise<{ claimed: ClaimedCanaryAlarm[]; scanned: number; superseded: string[]; retired: number }> {
  const { now, instanceId } = options;
  const parkedUntil = new Date(now.getTime() + CLAIM_RECHECK_MS);
  return deps.db.transaction(async (tx) => {
    const due = await lockDueCanaryKeys(tx, now, options.limit);
    if (due.length === 0) return { claimed: [], scanned: 0, superseded: [], retired: 0 };
    const ids = due.map((k) => k.id);
    const previous = await findLatestCanaryAlarms(tx, ids);
    const untold = await findFirstUntoldTries(tx, ids);
    const plans: Array<{ keyId: string; at: Date | null }> = [];
    const inserts: Parameters<typeof insertCanaryAlarms>[1] = [];
    const reclaims: string[] = [];
    let done = 0;

    for (const key of due) {
      const prior = previous.get(key.id);
      if (prior && isFree(prior)) {
        reclaims.push(prior.id);
        plans.push({ keyId: key.id, at: parkedUntil });
        continue;
      }
      if (prior?.status === 'claimed') {
        // A live instance is sending it: its outcome, or its release, sets the next look.
        plans.push({ keyId: key.id, at: parkedUntil });
        continue;
      }
      const first = untold.get(key.id);
      if (!first) {
        plans.push({ keyId: key.id, at: null });
        done += 1;
        continue;
      }
      const dueAt = nextCanaryAlarmAt(first, prior?.dueAt ?? null);
      if (dueAt > now) {
        plans.push({ keyId: key.id, at: dueAt });
        continue;
      }
      if (recipientsOf(key).length === 0) {
        inserts.push({
          keyId: key.id,
          dueAt,
          status: 'skipped',
          lastError: 'no alert channel or maintainer',
        });
        plans.push({ keyId: key.id, at: new Date(dueAt.getTime() + CANARY_QUIET_MS) });
        continue;
      }
      inserts.push({ keyId: key.id, dueAt, status: 'claimed' });
      plans.push({ keyId: key.id, at: parkedUntil });
    }

    const owned = [
      ...(await insertCanaryAlarms(tx, inserts, { now, by: instanceId })).filter(
        (n) => n.status === 'claimed',
      ),
      ...(await reclaimNotifications(tx, reclaims, { now, by: instanceId })),
    ];
    await planCanaryKeys(tx, plans);
    const contents = await findCanaryAlarmContents(
      tx,
      owned.map((n) => n.id),
    );
    const secrets = await findCurrentSecretsForKeys(
      tx,
      owned.map((n) => n.keyId!),
    );
    const byId = new Map(due.map((k) => [k.id, k]));
    const claimed = owned.map((n) =>
      toClaimed(
        n,
        byId.get(n.keyId!)!,
        contents.get(n.id)!,
        secrets.find((s) => s.keyId === n.keyId),
      ),
    );
    const skipped = inserts.filter((i) => i.status === 'skipped').map(() => 'canary_tried');
    return { claimed, scanned: due.length, superseded: skipped, retired: done };
  });
}

function toClaimed(
  n: NotificationRow,
  key: KeyRow,
  content: CanaryAlarmContent,
  secret: { display: string } | undefined,
): ClaimedCanaryAlarm {
  const deliveredTo = n.deliveredTo ?? [];
  const latest = content.latest;
  return {
    id: n.id,
    kind: n.kind,
    keyId: key.id,
    keyName: key.name,
    display: secret?.display ?? '',
    dueAt: n.dueAt!,
    tries: content.tries,
    latest: latest && {
      triedAt: latest.triedAt,
      via: latest.via,
      clientIp: latest.clientIp,
      userAgent: latest.userAgent,
      uri: latest.uri,
      method: latest.method,
      askedBy: latest.askedBy,
      place: latest.place,
    },
    previousAt: content.previousAt,
    pending: recipientsOf(key).filter((r) => !deliveredTo.includes(r.to)),
    deliveredTo,
    attempt: n.attempts,
    nextAt: null,
  };
}

/**
 * Records deliveries. Sent → the canary is looked at again when its quiet window ends (tries that came
 * meanwhile then get the next alarm). Not everyone reached → the claim is released and the canary is
 * due again after the usual backoff; those already reached are never messaged twice. Given back unsent
 * (a stopping scheduler) → due again at once (the release trigger).
 */
export function completeCanaryAlarms(
  deps: { db: Db },
  input: { results: NoticeResult<ClaimedCanaryAlarm>[]; instanceId: string; now: Date },
): Promise<RecordedNotices<ClaimedCanaryAlarm>> {
  const { now } = input;
  if (input.results.length === 0) return Promise.resolve({ sent: [], failed: [], givenBack: [] });
  return deps.db.transaction(async (tx) => {
    const { sent, failed, givenBack, retryAt } = await recordNoticeOutcomes(
      tx,
      input.results,
      input.instanceId,
      now,
    );
    await planCanaryKeys(tx, [
      ...sent.map((n) => ({ keyId: n.keyId, at: new Date(n.dueAt.getTime() + CANARY_QUIET_MS) })),
      ...failed.map((n) => ({ keyId: n.keyId, at: retryAt(n) })),
    ]);
    return { sent, failed, givenBack };
  });
}
