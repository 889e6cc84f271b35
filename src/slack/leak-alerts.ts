import type { WebClient } from '@slack/web-api';
import { noticeErrorText } from '../scheduler/slack-poster.ts';
import { newInstanceId } from '../scheduler/start-scheduler.ts';
import type { LeakNoticeToSend } from '../services/leak-outbox.ts';
import { buildLeakAlert, buildLeakThreadReply } from './blocks/leak-messages.ts';
import type { SlackDeps } from './deps.ts';
import { recordSlackError } from './slack-errors.ts';

/** Delivers the leak outbox: thread replies, maintainers' DMs and alert-channel notices. */
export interface LeakAlerts {
  /** Claims and sends everything owed now (what the wake-up and the sweep call). */
  sweep(): Promise<void>;
  /** Resolves when no delivery pass is running or asked for (tests, shutdown). */
  settled(): Promise<void>;
  stop(): Promise<void>;
}

/** How often each process looks for notices owed (a crashed sender's, another replica's, a summary now due). */
export const LEAK_SWEEP_MS = 5_000;
/** Messages in flight at once (to different recipients, usually). */
const CONCURRENCY = 4;

/**
 * The leak outbox's sender (docs/architecture.md#leak-response). What must be told was recorded with
 * the report; this claims each message (one row, one post: `claimed_by` this instance), posts it and
 * records it sent, or gives it back for a retry. Woken at once after a report commits in this process
 * (the `leak_reported` change), and every LEAK_SWEEP_MS by a sweep whose idle cost is one indexed
 * statement: a report recorded by a process that died, or by another replica, goes out within seconds.
 */
export function createLeakAlerts(
  deps: Omit<SlackDeps, 'home' | 'client'> & { client: WebClient },
  options: { instanceId?: string; sweepMs?: number } = {},
): LeakAlerts {
  const by = options.instanceId ?? newInstanceId();
  let stopped = false;
  let running: Promise<void> | undefined;
  let again = false;

  const pass = async () => {
    const worker = async () => {
      while (!stopped) {
        let notice: LeakNoticeToSend | undefined;
        try {
          notice = await deps.services.leakOutbox.claimNext(by);
        } catch (error) {
          deps.logger.warn({ err: error }, 'could not claim leak notices; the next sweep tries again');
          return;
        }
        if (!notice) return;
        await deliver(deps, notice, by);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
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
          await pass();
        } while (again && !stopped);
      } finally {
        running = undefined;
      }
    })();
    return running;
  };

  const unsubscribe = deps.services.changes.subscribe((change) => {
    if (change.type === 'leak_reported') void sweep();
  });
  const timer = setInterval(async () => {
    try {
      if (!running && (await deps.services.leakOutbox.anyDue())) void sweep();
    } catch (error) {
      deps.logger.debug({ err: error }, 'leak outbox sweep could not ask the database');
    }
  }, options.sweepMs ?? LEAK_SWEEP_MS);
  timer.unref();
  // Whatever a previous process left owed goes out now, not at the first tick.
  void sweep();

  return {
    sweep,
    settled: async () => {
      while (running) await running;
    },
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      unsubscribe();
      await running;
    },
  };
}

/** One claimed message: post it, then record it; a failure gives it back for a retry. */
async function deliver(
  deps: Omit<SlackDeps, 'home' | 'client'> & { client: WebClient },
  notice: LeakNoticeToSend,
  by: string,
): Promise<void> {
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
          'could not give a leak notice back; its claim runs out',
        ),
      );
    return;
  }
  deps.metrics.leakNotices.inc({ kind: notice.kind, result: 'sent' });
  try {
    await deps.services.leakOutbox.complete(notice.id, by);
  } catch (error) {
    // Posted but not recorded: when the claim runs out it may be posted once more. Said, not hidden.
    deps.logger.error(
      { err: error, ...context },
      'a leak notice was posted but could not be recorded as sent',
    );
  }
}

/** The link to the Slack message a key was posted in, for DMs and the alert channel (best effort). */
async function permalinkOf(
  deps: Omit<SlackDeps, 'home' | 'client'> & { client: WebClient },
  notice: LeakNoticeToSend,
): Promise<string | undefined> {
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
