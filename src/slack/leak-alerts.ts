import type { WebClient } from '@slack/web-api';
import { type ClaimHolder, oneOffHolder } from '../scheduler/instance-liveness.ts';
import { noticeErrorText } from '../scheduler/slack-poster.ts';
import { newInstanceId, type ScheduledSource } from '../scheduler/start-scheduler.ts';
import { LEAK_NOTICE_SOURCE, type LeakNoticeToSend } from '../services/leak-outbox.ts';
import { buildLeakAlert, buildLeakThreadReply } from './blocks/leak-messages.ts';
import type { SlackDeps } from './deps.ts';
import { recordSlackError } from './slack-errors.ts';

/** Delivers the leak outbox: thread replies, maintainers' DMs and alert-channel notices. */
export interface LeakAlerts {
  /**
   * The scheduler's prompt notice source `leak` (src/scheduler/index.ts): in a running rekey the outbox
   * is delivered by the scheduler, woken when a report commits and swept every few seconds, under the
   * scheduler's live instance.
   */
  source: ScheduledSource;
  /** Claims and sends everything owed now, as a one-off instance (tests; a surface with no scheduler). */
  sweep(): Promise<void>;
  /** Resolves when no delivery pass is running or asked for (tests, shutdown). */
  settled(): Promise<void>;
  stop(): Promise<void>;
}

type LeakDeps = Omit<SlackDeps, 'home' | 'client'> & { client: WebClient };

/**
 * The leak outbox's sender (docs/architecture.md#leak-response). What must be told was recorded with
 * the report; a pass claims each message for a live instance (one row, one post: `claimed_by`), posts it
 * and records it sent, or gives it back for a retry. A claim belongs to a live instance like every
 * notice's, so a sender that dies or stops frees what it held for the others within seconds.
 *
 * `selfDelivered`: without a scheduler (tests), a report that commits in this process starts a pass at
 * once, under a one-off instance of its own. In a running rekey (`false`) the scheduler's `leak` source
 * does the delivering.
 */
export function createLeakAlerts(deps: LeakDeps, options: { selfDelivered?: boolean } = {}): LeakAlerts {
  const ownId = newInstanceId();
  let stopped = false;
  let running: Promise<void> | undefined;
  let again = false;

  const pass = async (by: string, holder: ClaimHolder, signal?: AbortSignal) => {
    // The instance must be alive (its row there) before it claims: its claims name it.
    const generation = await holder.confirm();
    while (!stopped && !signal?.aborted) {
      let notice: LeakNoticeToSend | undefined;
      try {
        notice = await deps.services.leakOutbox.claimNext(by);
      } catch (error) {
        deps.logger.warn({ err: error }, 'could not claim leak notices; the next sweep tries again');
        return;
      }
      if (!notice) return;
      if (stopped || signal?.aborted || !holder.mayPost(generation)) {
        // Stopping, or no longer sure the claim is ours: owed again at once, to whoever is alive.
        await deps.services.leakOutbox.giveBack(notice.id, by).catch(() => {});
        return;
      }
      await deliver(deps, notice, by);
    }
  };

  const sweep = (): Promise<void> => {
    if (stopped) return Promise.resolve();
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await pass(ownId, oneOffHolder({ db: deps.services.deps.db, instanceId: ownId }));
        } while (again && !stopped);
      } finally {
        running = undefined;
      }
    })();
    return running;
  };

  const unsubscribe = options.selfDelivered
    ? deps.services.changes.subscribe((change) => {
        if (change.type === 'leak_reported') void sweep();
      })
    : () => {};

  return {
    source: {
      name: LEAK_NOTICE_SOURCE,
      cadence: 'prompt',
      operation: 'leak_notices',
      run: (scheduled) =>
        pass(
          scheduled.instanceId,
          scheduled.holder ?? oneOffHolder({ db: scheduled.db, instanceId: scheduled.instanceId }),
          scheduled.signal,
        ),
    },
    sweep,
    settled: async () => {
      while (running) await running;
    },
    stop: async () => {
      stopped = true;
      unsubscribe();
      await running;
    },
  };
}

/** One claimed message: post it, then record it; a failure gives it back for a retry. */
async function deliver(deps: LeakDeps, notice: LeakNoticeToSend, by: string): Promise<void> {
  const context = {
    keyId: notice.key.id,
    keyName: notice.key.name,
    recipient: notice.recipient,
    kind: notice.kind,
  };
  try {
    if (notice.kind === 'thread') {
      await deps.client.chat.postMessage({
        channel: notice.recipient,
        thread_ts: notice.threadTs!,
        ...buildLeakThreadReply(notice),
      });
    } else {
      const message = buildLeakAlert(notice, await permalinkOf(deps, notice));
      await deps.client.chat.postMessage({ channel: notice.recipient, ...message });
    }
  } catch (error) {
    const described = recordSlackError(deps, 'chat.postMessage', error);
    deps.metrics.leakNotices.inc({ kind: notice.kind, result: 'failed' });
    const hint =
      notice.kind !== 'dm' && (described.code === 'not_in_channel' || described.code === 'channel_not_found')
        ? ` — invite the bot to <#${notice.recipient}> (/invite @rekey)`
        : '';
    deps.logger.warn(
      { ...described, ...context },
      `could not tell about a leaked key; it is tried again later${hint}`,
    );
    const retryAfter = (error as { retryAfter?: unknown }).retryAfter;
    await deps.services.leakOutbox
      .release({
        id: notice.id,
        by,
        attempt: notice.attempt,
        error: noticeErrorText(error),
        retryAfterMs: typeof retryAfter === 'number' ? retryAfter * 1000 : undefined,
      })
      .catch((releaseError: unknown) =>
        deps.logger.warn(
          { err: releaseError, ...context },
          'could not give a leak notice back; it is freed when this instance stops',
        ),
      );
    return;
  }
  deps.metrics.leakNotices.inc({ kind: notice.kind, result: 'sent' });
  try {
    await deps.services.leakOutbox.complete(notice.id, by);
  } catch (error) {
    // Posted but not recorded: if this instance stops holding the claim it may be posted once more.
    deps.logger.error(
      { err: error, ...context },
      'a leak notice was posted but could not be recorded as sent',
    );
  }
}

/** The link to the Slack message a key was posted in, for DMs and the alert channel (best effort). */
async function permalinkOf(deps: LeakDeps, notice: LeakNoticeToSend): Promise<string | undefined> {
  const { channel, messageTs } = notice.report;
  if (!channel || !messageTs) return undefined;
  try {
    return (await deps.client.chat.getPermalink({ channel, message_ts: messageTs })).permalink;
  } catch (error) {
    deps.logger.warn(
      { ...recordSlackError(deps, 'chat.getPermalink', error), channel, keyId: notice.key.id },
      'could not link the message holding a leaked key; the alerts name its channel',
    );
    return undefined;
  }
}
