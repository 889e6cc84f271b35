import type { Clock } from '../clock.ts';
import type { Logger } from '../logger.ts';
import {
  claimDigest,
  digestFailed,
  digestSent,
  digestsDue,
  digestsToRetry,
  digestWeekOf,
} from '../services/policy-digest.ts';
import { buildPolicyDigestMessage } from '../slack/blocks/policy-digest-message.ts';
import type { Db } from '../store/database.ts';
import { checkNoticeTiming, type NoticeTiming } from './notice-timing.ts';
import { noticeErrorText, type SlackPoster } from './slack-poster.ts';

export interface DigestJobDeps {
  db: Db;
  clock: Clock;
  poster: SlackPoster;
  logger: Logger;
  /** Unique per process; recorded on claims. */
  instanceId: string;
  /** The claim's lease is the notices' (a digest is one post, well inside it). */
  timing?: Partial<NoticeTiming>;
  signal?: AbortSignal;
}

export interface DigestReport {
  posted: string[];
  failed: string[];
}

/**
 * The weekly digest (REKEY_DIGEST_CRON; docs/architecture.md#rotation-policy): one message per alert
 * channel listing its keys overdue or due within 7 days, each with Rotate…. A channel with nothing to
 * list gets nothing. Each channel's digest is claimed by a unique (channel, week) row before it is
 * posted, so replicas firing together, or a restart, send it once per week.
 */
export function runPolicyDigest(deps: DigestJobDeps): Promise<DigestReport> {
  return postDigests(deps);
}

/**
 * On every REKEY_CRON tick: this week's digests whose post failed (after a backoff) or whose claimer
 * died (after the lease). One small query when there are none.
 */
export async function retryPolicyDigests(deps: DigestJobDeps): Promise<DigestReport> {
  const timing = checkNoticeTiming(deps.timing);
  const channels = await digestsToRetry({ db: deps.db }, { now: deps.clock.now(), leaseMs: timing.leaseMs });
  if (channels.length === 0) return { posted: [], failed: [] };
  return postDigests(deps, channels);
}

async function postDigests(deps: DigestJobDeps, only?: string[]): Promise<DigestReport> {
  const timing = checkNoticeTiming(deps.timing);
  const now = deps.clock.now();
  const week = digestWeekOf(now);
  const due = await digestsDue({ db: deps.db }, now);
  const report: DigestReport = { posted: [], failed: [] };
  for (const channel of only ?? [...due.keys()]) {
    if (deps.signal?.aborted) break;
    const claim = { channel, week, now, instanceId: deps.instanceId, leaseMs: timing.leaseMs };
    const attempt = await claimDigest({ db: deps.db }, claim);
    if (attempt === null) continue;
    const items = due.get(channel) ?? [];
    if (items.length === 0) {
      // A retry after the keys were rotated: nothing left to tell this channel this week.
      await digestSent({ db: deps.db }, { ...claim, note: 'nothing left to list' });
      continue;
    }
    try {
      const message = buildPolicyDigestMessage(items, now);
      await deps.poster.chat.postMessage({ channel, text: message.text, blocks: message.blocks });
      report.posted.push(channel);
      await digestSent({ db: deps.db }, claim);
    } catch (error) {
      const reason = noticeErrorText(error);
      report.failed.push(channel);
      deps.logger.warn({ channel, reason }, 'could not post the weekly digest; it will be tried again');
      await digestFailed({ db: deps.db }, { ...claim, attempt, error: reason });
    }
  }
  if (report.posted.length > 0 || report.failed.length > 0) {
    deps.logger.info({ week, posted: report.posted.length, failed: report.failed.length }, 'weekly digest');
  }
  return report;
}
