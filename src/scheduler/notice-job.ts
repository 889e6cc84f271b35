import { HOUR_MS, type UseSummary } from '../keys/usage.ts';
import { clientsOfSecrets, type SecretClients } from '../services/client-uses.ts';
import { EXPIRED_KIND, USED_AFTER_EXPIRY_KIND } from '../services/notice-plan.ts';
import {
  anyNoticeDue,
  type ClaimedNotice,
  claimDueNotices,
  completeNotices,
  recordRecipientReached,
} from '../services/notify-expiring.ts';
import { leakedSecretIds } from '../services/unrotated-leaks.ts';
import { useSummaries } from '../services/use-summaries.ts';
import {
  buildNoticeMessage,
  ITEMS_PER_MESSAGE,
  type NoticeItem,
  sortNoticeItems,
} from '../slack/blocks/notice-message.ts';
import { type NoticeSource, type RoundsDeps, runNoticeRounds, type TickReport } from './notice-rounds.ts';

export type { TickReport } from './notice-rounds.ts';

export interface NoticeJobDeps extends RoundsDeps {
  /** REKEY_REMINDERS, in ms. */
  offsets: readonly number[];
}

/**
 * One scheduler tick of the grace-period notices (docs/architecture.md#notices-exactly-once):
 * reminders before an old key stops working, the alert when it does, and the alert when an expired
 * key is still sent. Claimed, sent and recorded by the shared engine (notice-rounds.ts).
 */
export async function runNoticeTick(deps: NoticeJobDeps): Promise<TickReport> {
  const report = await runNoticeRounds(deps, graceNotices(deps));
  if (report.claimed > 0 || report.retired > 0 || report.superseded > 0) {
    deps.logger.info({ tick: report }, 'scheduler tick');
  }
  return report;
}

function graceNotices(deps: NoticeJobDeps): NoticeSource<ClaimedNotice> {
  const db = { db: deps.db };
  return {
    anyDue: (now) => anyNoticeDue(db, now),
    claim: (now, limit) =>
      claimDueNotices(db, { now, offsets: deps.offsets, instanceId: deps.instanceId, limit }),
    async prepare(round, now) {
      const uses = await usesOf(deps, round, now);
      const leaked = await leakedOf(deps, round);
      const clients = await clientsOf(deps, round, now);
      return {
        compose: (notices, audience) =>
          buildNoticeMessage(
            notices.map((n) => ({ ...toItem(n, uses, clients), leaked: leaked.has(n.secretId) })),
            { audience, now },
          ),
      };
    },
    order: sortNoticeItems,
    perMessage: ITEMS_PER_MESSAGE,
    recordReached: (ids, recipient) =>
      recordRecipientReached(db, { ids, recipient, instanceId: deps.instanceId }),
    complete: (results, now) => completeNotices(db, { results, instanceId: deps.instanceId, now }),
  };
}

type Uses = Map<string, UseSummary>;

/**
 * The old keys' use, read once for the round. Without it a notice still goes out (it says when the
 * key stops, which matters more than how it is used), so a failed read is logged and sent without.
 */
async function usesOf(deps: NoticeJobDeps, round: ClaimedNotice[], now: Date): Promise<Uses> {
  try {
    return await useSummaries(
      { db: deps.db, clock: deps.clock },
      [...new Set(round.map((n) => n.secretId))],
      now,
    );
  } catch (error) {
    deps.logger.warn({ err: error }, 'could not read the old keys’ use; notices go out without it');
    return new Map();
  }
}

/** The old keys of the round reported leaked while they worked: their reminders say so (best effort). */
async function leakedOf(deps: NoticeJobDeps, round: ClaimedNotice[]): Promise<Set<string>> {
  try {
    return await leakedSecretIds({ db: deps.db }, [...new Set(round.map((n) => n.secretId))]);
  } catch (error) {
    deps.logger.warn(
      { err: error },
      'could not read which old keys were reported leaked; notices go out without it',
    );
    return new Set();
  }
}

/**
 * Who presented the reminders' old keys within the last hour: the clients still to move. Like the use,
 * optional: a failed read sends the reminders without it.
 */
async function clientsOf(
  deps: NoticeJobDeps,
  round: ClaimedNotice[],
  now: Date,
): Promise<Map<string, SecretClients>> {
  const reminded = round.filter((n) => n.kind !== EXPIRED_KIND && n.kind !== USED_AFTER_EXPIRY_KIND);
  try {
    return await clientsOfSecrets({ db: deps.db }, [...new Set(reminded.map((n) => n.secretId))], now, {
      activeWithinMs: HOUR_MS,
      limit: 3,
    });
  } catch (error) {
    deps.logger.warn({ err: error }, 'could not read the old keys’ clients; reminders go out without them');
    return new Map();
  }
}

function toItem(notice: ClaimedNotice, uses: Uses, clients: Map<string, SecretClients>): NoticeItem {
  return {
    kind:
      notice.kind === EXPIRED_KIND
        ? 'expired'
        : notice.kind === USED_AFTER_EXPIRY_KIND
          ? 'used_after_expiry'
          : 'reminder',
    keyName: notice.keyName,
    oldDisplay: notice.oldDisplay,
    expiresAt: notice.expiresAt,
    use: uses.get(notice.secretId),
    clients: clients.get(notice.secretId),
    ids: { keyId: notice.keyId, currentSecretId: notice.currentSecretId, oldSecretId: notice.secretId },
    afterExpiry: notice.afterExpiry ?? undefined,
  };
}
