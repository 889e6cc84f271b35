import { recordRecipientReached } from '../services/notify-expiring.ts';
import {
  anyPolicyNoticeDue,
  type ClaimedPolicyNotice,
  cancelOutdatedPolicyNotices,
  claimDuePolicyNotices,
  completePolicyNotices,
} from '../services/notify-policy.ts';
import { POLICY_OVERDUE_KIND } from '../services/policy-notice-plan.ts';
import {
  buildPolicyNoticeMessage,
  POLICY_ITEMS_PER_MESSAGE,
  type PolicyNoticeItem,
  sortPolicyItems,
} from '../slack/blocks/policy-notice-message.ts';
import { type NoticeSource, type RoundsDeps, runNoticeRounds, type TickReport } from './notice-rounds.ts';

export interface PolicyNoticeJobDeps extends RoundsDeps {
  /** REKEY_POLICY_REMINDERS, in ms. */
  offsets: readonly number[];
}

/**
 * One tick of the rotation-policy notices (docs/architecture.md#rotation-policy): a reminder at each
 * REKEY_POLICY_REMINDERS offset before a key's rotation is due, and one notice when it becomes
 * overdue, to its alert channel and its maintainers. Exactly once per key, due date and kind, by the
 * same claim/send/record engine as the grace-period notices (notice-rounds.ts).
 */
export async function runPolicyNoticeTick(deps: PolicyNoticeJobDeps): Promise<TickReport> {
  const report = await runNoticeRounds(deps, policyNotices(deps));
  if (report.claimed > 0 || report.superseded > 0) {
    deps.logger.info({ tick: report }, 'policy notice tick');
  }
  return report;
}

function policyNotices(deps: PolicyNoticeJobDeps): NoticeSource<ClaimedPolicyNotice> {
  const db = { db: deps.db };
  return {
    anyDue: (now) => anyPolicyNoticeDue(db, now),
    claim: (now, limit) =>
      claimDuePolicyNotices(db, { now, offsets: deps.offsets, instanceId: deps.instanceId, limit }),
    async prepare(round, now) {
      return {
        cancelled: await outdated(deps, round),
        compose: (notices, audience) => buildPolicyNoticeMessage(notices.map(toItem), { audience, now }),
      };
    },
    order: sortPolicyItems,
    perMessage: POLICY_ITEMS_PER_MESSAGE,
    recordReached: (ids, recipient) =>
      recordRecipientReached(db, { ids, recipient, instanceId: deps.instanceId }),
    complete: (results, now) => completePolicyNotices(db, { results, instanceId: deps.instanceId, now }),
  };
}

/**
 * A rotation between the claim and now moved the due date: those notices would say something false and
 * are cancelled. If that cannot be checked, they go out as claimed (a late reminder beats none).
 */
async function outdated(deps: PolicyNoticeJobDeps, round: ClaimedPolicyNotice[]): Promise<Set<string>> {
  try {
    return await cancelOutdatedPolicyNotices(
      { db: deps.db },
      { notices: round, instanceId: deps.instanceId },
    );
  } catch (error) {
    deps.logger.warn({ err: error }, 'could not check policy notices against their keys; sending as claimed');
    return new Set();
  }
}

function toItem(notice: ClaimedPolicyNotice): PolicyNoticeItem {
  return {
    kind: notice.kind === POLICY_OVERDUE_KIND ? 'overdue' : 'due',
    keyId: notice.keyId,
    keyName: notice.keyName,
    dueAt: notice.dueAt,
    rotateEvery: notice.rotateEvery,
  };
}
