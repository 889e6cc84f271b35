import {
  anyDigestOwed,
  type ClaimedDigest,
  claimOwedDigests,
  completeDigests,
  digestsDue,
  digestWeekOf,
  recordDigestsOwed,
} from '../services/policy-digest.ts';
import { buildPolicyDigestMessage } from '../slack/blocks/policy-digest-message.ts';
import { type NoticeSource, type RoundsDeps, runNoticeRounds } from './notice-rounds.ts';

export type DigestJobDeps = RoundsDeps;

export interface DigestReport {
  posted: string[];
  failed: string[];
}

/**
 * The weekly digest (REKEY_DIGEST_CRON; docs/architecture.md#rotation-policy): one message per alert
 * channel listing its keys overdue or due within 7 days, each with Rotate…. A channel with nothing to
 * list gets nothing. Each channel's digest is first recorded as owed (a unique (channel, week) row, so
 * replicas firing together, or a restart, owe it once), then claimed, sent and recorded by the same
 * engine as every notice: a replica that dies, or stops, part way leaves the rest to the others.
 */
export async function runPolicyDigest(deps: DigestJobDeps): Promise<DigestReport> {
  await recordWeeklyDigests(deps);
  return retryPolicyDigests(deps);
}

/** Records this week's digests as owed, without sending them (the scheduler's digest source does). */
export function recordWeeklyDigests(deps: DigestJobDeps): Promise<number> {
  return recordDigestsOwed({ db: deps.db }, deps.clock.now());
}

/**
 * Sends this week's digests still owed: just recorded, failed (after a backoff) or given back by an
 * instance that stopped or died. On every REKEY_CRON tick and when woken; one index probe when none.
 */
export async function retryPolicyDigests(deps: DigestJobDeps): Promise<DigestReport> {
  const report: DigestReport = { posted: [], failed: [] };
  await runNoticeRounds(deps, digestSource(deps, report));
  if (report.posted.length > 0 || report.failed.length > 0) {
    deps.logger.info(
      { week: digestWeekOf(deps.clock.now()), posted: report.posted.length, failed: report.failed.length },
      'weekly digest',
    );
  }
  return report;
}

function digestSource(deps: DigestJobDeps, report: DigestReport): NoticeSource<ClaimedDigest> {
  const db = { db: deps.db };
  const { instanceId } = deps;
  return {
    anyDue: (now) => anyDigestOwed(db, now),
    claim: (now, limit) => claimOwedDigests(db, { now, instanceId, limit }),
    async prepare(round, now) {
      const due = await digestsDue(db, now);
      // A retry after the keys were rotated: nothing left to tell this channel this week.
      const empty = round.filter((d) => !due.has(d.channel));
      await completeDigests(db, { results: [], nothingToList: empty, instanceId, now });
      return {
        cancelled: new Set(empty.map((d) => d.id)),
        compose: ([digest]) => buildPolicyDigestMessage(due.get(digest!.channel)!, now),
      };
    },
    order: (digests) => digests,
    perMessage: 1,
    async complete(results, now) {
      const done = await completeDigests(db, { results, instanceId, now });
      report.posted.push(...done.sent.map((d) => d.channel));
      report.failed.push(...done.failed.map((d) => d.channel));
      return done;
    },
  };
}
