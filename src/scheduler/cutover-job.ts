import {
  anyCutoverDue,
  type ClaimedCutover,
  claimDueCutovers,
  completeCutovers,
} from '../services/notify-cutover.ts';
import {
  buildCutoverMessage,
  CUTOVER_ITEMS_PER_MESSAGE,
  type CutoverItem,
  sortCutoverItems,
} from '../slack/blocks/cutover-message.ts';
import { type NoticeSource, type RoundsDeps, runNoticeRounds, type TickReport } from './notice-rounds.ts';

export interface CutoverJobDeps extends RoundsDeps {
  /** REKEY_QUIET_AFTER, in ms. */
  quietAfterMs: number;
}

/**
 * One tick of the cutover notice (docs/architecture.md#usage-counting): an old key in its grace period
 * that nothing has called for REKEY_QUIET_AFTER, after being called since its rotation, while the new
 * key is in use → "every client seems to have moved", with End grace now, to the alert channel and the
 * rotator. Once per old secret, by the same claim/send/record engine as every notice (notice-rounds.ts),
 * on the REKEY_CRON tick.
 */
export async function runCutoverTick(deps: CutoverJobDeps): Promise<TickReport> {
  const report = await runNoticeRounds(deps, cutoverNotices(deps));
  if (report.claimed > 0) deps.logger.info({ tick: report }, 'cutover notice tick');
  return report;
}

function cutoverNotices(deps: CutoverJobDeps): NoticeSource<ClaimedCutover> {
  const db = { db: deps.db };
  return {
    anyDue: (now) => anyCutoverDue(db, now),
    claim: (now, limit) =>
      claimDueCutovers(db, { now, quietAfterMs: deps.quietAfterMs, instanceId: deps.instanceId, limit }),
    prepare: async (_round, now) => ({
      compose: (notices, audience) => buildCutoverMessage(notices.map(toItem), { audience, now }),
    }),
    order: (notices) => sortCutoverItems(notices),
    perMessage: CUTOVER_ITEMS_PER_MESSAGE,
    complete: (results, now) => completeCutovers(db, { results, instanceId: deps.instanceId, now }),
  };
}

function toItem(notice: ClaimedCutover): CutoverItem {
  return {
    keyId: notice.keyId,
    keyName: notice.keyName,
    oldSecretId: notice.secretId,
    oldDisplay: notice.oldDisplay,
    currentSecretId: notice.currentSecretId,
    expiresAt: notice.expiresAt,
    oldLastUsedAt: notice.oldLastUsedAt,
    currentCalls: notice.currentCalls,
  };
}
