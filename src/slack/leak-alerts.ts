import type { KeyChange } from '../services/key-changes.ts';
import type { LeakNotice } from '../services/report-leak.ts';
import { buildLeakAlert } from './blocks/leak-messages.ts';
import type { SlackDeps } from './deps.ts';
import { recordSlackError } from './slack-errors.ts';

/** Tells each new leak report to the key's maintainers and alert channel. */
export interface LeakAlerts {
  /** Resolves when every alert already started has been sent or given up (tests, shutdown). */
  settled(): Promise<void>;
  stop(): void;
}

/**
 * Follows reports of working keys seen leaked (from a Slack message or a scanner through POST
 * /v1/leaks): a DM to each maintainer and a notice in the key's alert channel, each with a link to
 * the message when there is one and "Rotate now…". Only the replica whose report was new hears of it,
 * so each is sent once. Sending never holds up the report that caused it.
 */
export function createLeakAlerts(deps: Omit<SlackDeps, 'home'>): LeakAlerts {
  const sending = new Set<Promise<void>>();
  const unsubscribe = deps.services.changes.subscribe((change: KeyChange) => {
    if (change.type !== 'leak_reported' || !change.leak) return;
    const sent = sendLeakAlerts(deps, change.leak).finally(() => sending.delete(sent));
    sending.add(sent);
  });
  return {
    settled: async () => {
      while (sending.size > 0) await Promise.all(sending);
    },
    stop: unsubscribe,
  };
}

async function sendLeakAlerts(deps: Omit<SlackDeps, 'home'>, notice: LeakNotice): Promise<void> {
  const { key, place } = notice;
  let permalink: string | undefined;
  if (place.kind === 'slack_message') {
    try {
      const link = await deps.client.chat.getPermalink({
        channel: place.channel,
        message_ts: place.messageTs,
      });
      permalink = link.permalink;
    } catch (error) {
      deps.logger.warn(
        { ...recordSlackError(deps, 'chat.getPermalink', error), channel: place.channel, keyId: key.id },
        'could not link the message holding a leaked key; the alerts name its channel',
      );
    }
  }
  const message = buildLeakAlert({ notice, permalink });
  const recipients = [...key.maintainers, ...(key.alertChannel ? [key.alertChannel] : [])];
  await Promise.all(
    recipients.map(async (channel) => {
      try {
        await deps.client.chat.postMessage({ channel, ...message });
      } catch (error) {
        const described = recordSlackError(deps, 'chat.postMessage', error);
        const hint =
          channel === key.alertChannel &&
          (described.code === 'not_in_channel' || described.code === 'channel_not_found')
            ? ` — invite the bot to <#${channel}> (/invite @rekey)`
            : '';
        deps.logger.warn(
          { ...described, channel, keyId: key.id, keyName: key.name },
          `could not tell about a leaked key${hint}`,
        );
      }
    }),
  );
}
