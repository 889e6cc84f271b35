import type { AllMiddlewareArgs, SlackEventMiddlewareArgs } from '@slack/bolt';
import { findKeyStrings } from '../../keys/leak-scan.ts';
import { buildExpiredKeyThreadNote, buildLeakThreadReply } from '../blocks/leak-messages.ts';
import type { SlackDeps } from '../deps.ts';
import { logFailure, recordSlackError } from '../slack-errors.ts';
import { type PostedMessage, postedMessage } from './posted-message.ts';

type MessageArgs = SlackEventMiddlewareArgs<'message'> & AllMiddlewareArgs;

/**
 * A message (or an edit) in a channel rekey is a member of. Bolt has already acknowledged the event,
 * so nothing here delays Slack's 3 s. The scan is a regular expression and a checksum per candidate:
 * a message without a key string with a valid checksum ends here, with no database query. Each key
 * rekey knows is reported once per message (the database decides, across redeliveries, edits and
 * replicas), and only the report that was new answers in the thread.
 */
export function handleMessagePosted(deps: SlackDeps) {
  return async ({ event }: MessageArgs) => {
    const message = postedMessage(event);
    if (!message) return;
    const keys = findKeyStrings(message.text);
    for (const token of keys) await answerKeyInMessage(deps, message, token);
  };
}

async function answerKeyInMessage(deps: SlackDeps, message: PostedMessage, token: string): Promise<void> {
  let report: Awaited<ReturnType<SlackDeps['services']['reportLeak']>>;
  try {
    report = await deps.services.reportLeak({
      token,
      place: {
        kind: 'slack_message',
        channel: message.channel,
        messageTs: message.ts,
        postedBy: message.user,
      },
    });
  } catch (error) {
    logFailure(
      deps,
      error,
      { method: 'chat.postMessage', userId: message.user ?? '' },
      'could not report a key seen in a Slack message',
    );
    return;
  }
  if (report.status === 'unknown' || !report.reported) return;
  const { key, secret } = report;
  deps.logger.warn(
    {
      keyId: key.id,
      keyName: key.name,
      // `display`, not `secret`: the logger redacts fields named secret, and this is only the display form.
      display: secret.display,
      channel: message.channel,
      status: report.status,
    },
    report.status === 'live'
      ? 'a working key was posted in a Slack channel: replying in the thread, telling its maintainers'
      : 'an expired key was posted in a Slack channel: noting in the thread that it no longer works',
  );
  const reply =
    report.status === 'live'
      ? buildLeakThreadReply({
          keyId: key.id,
          keyName: key.name,
          display: secret.display,
          postedBy: message.user,
        })
      : buildExpiredKeyThreadNote({ keyName: key.name, display: secret.display });
  try {
    await deps.client.chat.postMessage({ channel: message.channel, thread_ts: message.threadTs, ...reply });
  } catch (error) {
    deps.logger.warn(
      { ...recordSlackError(deps, 'chat.postMessage', error), channel: message.channel, keyId: key.id },
      'could not reply in the thread of a message holding a key; the report itself stands',
    );
  }
}
