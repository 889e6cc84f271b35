import {
  anyCanaryAlarmDue,
  type ClaimedCanaryAlarm,
  claimCanaryAlarms,
  completeCanaryAlarms,
} from '../services/canary-alarms.ts';
import { buildCanaryAlarmMessage, CANARY_ALARMS_PER_MESSAGE } from '../slack/blocks/canary-alarm-message.ts';
import { type NoticeSource, type RoundsDeps, runNoticeRounds, type TickReport } from './notice-rounds.ts';

/**
 * Canary alarms as a notice source (docs/architecture.md#canary-keys): claimed, sent and recorded by the
 * same engine as every notice, to the canary's alert channel and each maintainer.
 */
function canaryAlarms(deps: RoundsDeps): NoticeSource<ClaimedCanaryAlarm> {
  const db = { db: deps.db };
  return {
    anyDue: (now) => anyCanaryAlarmDue(db, now),
    claim: (now, limit) => claimCanaryAlarms(db, { now, instanceId: deps.instanceId, limit }),
    prepare: async () => ({
      compose: (notices, audience) => buildCanaryAlarmMessage(notices, { audience }),
    }),
    order: (notices) => [...notices].sort((a, b) => a.dueAt.getTime() - b.dueAt.getTime()),
    perMessage: CANARY_ALARMS_PER_MESSAGE,
    complete: (results, now) => completeCanaryAlarms(db, { results, instanceId: deps.instanceId, now }),
  };
}

/** One round of canary alarms: whatever is due now is claimed, sent and recorded. */
export async function runCanaryAlarmRound(deps: RoundsDeps): Promise<TickReport> {
  const report = await runNoticeRounds(deps, canaryAlarms(deps));
  if (report.claimed > 0) deps.logger.warn({ tick: report }, 'canary alarm round: a canary key was tried');
  return report;
}
