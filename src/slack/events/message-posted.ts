import { setImmediate as nextTurn } from 'node:timers/promises';
import type { AllMiddlewareArgs, SlackEventMiddlewareArgs } from '@slack/bolt';
import { KeyStringCollector, MAX_CANDIDATES, textPieces } from '../../keys/leak-scan.ts';
import type { LeakReport } from '../../services/report-leak.ts';
import type { SlackDeps } from '../deps.ts';
import { logFailure } from '../slack-errors.ts';
import { postedMessage } from './posted-message.ts';

type MessageArgs = SlackEventMiddlewareArgs<'message'> & AllMiddlewareArgs;

/** About this much text is scanned per event-loop turn (a few milliseconds of work at most). */
const SCAN_PIECE_CHARS = 8_192;

/**
 * A message (or an edit) in a channel rekey is a member of. Bolt has already acknowledged the event,
 * so nothing here delays Slack's 3 s. The work is bounded whatever the message holds: a linear scan, at
 * most MAX_CANDIDATES checksum-valid strings kept (the rest counted in
 * `rekey_leak_candidates_dropped_total`), one database lookup for all of them, and a report
 * transaction only for strings that really are rekey's keys. Each is reported once per message (the
 * database decides, across redeliveries, edits and replicas); the thread reply, DMs and alert go out
 * through the leak outbox, recorded with the report (docs/architecture.md#leak-response).
 */
export function handleMessagePosted(deps: SlackDeps) {
  return async ({ event }: MessageArgs) => {
    const message = postedMessage(event);
    if (!message) return;
    // In pieces, each in a turn of its own: a long message never holds up the verify requests that
    // share this event loop for more than one piece's scan (a few milliseconds).
    const scan = new KeyStringCollector();
    for (const piece of textPieces(message.text, SCAN_PIECE_CHARS)) {
      await nextTurn();
      scan.add(piece);
    }
    const { keys, dropped } = scan.result();
    if (dropped > 0) {
      deps.metrics.leakCandidatesDropped.inc(dropped);
      deps.logger.warn(
        { channel: message.channel, kept: keys.length, dropped },
        `a message held more than ${MAX_CANDIDATES} checksum-valid key strings: only the first ${MAX_CANDIDATES} were looked up`,
      );
    }
    if (keys.length === 0) return;
    const place = {
      kind: 'slack_message' as const,
      channel: message.channel,
      messageTs: message.ts,
      threadTs: message.threadTs,
      postedBy: message.user,
    };
    let reports: LeakReport[];
    try {
      reports = await deps.services.reportLeaks(keys.map((token) => ({ token, place })));
    } catch (error) {
      logFailure(
        deps,
        error,
        { method: 'chat.postMessage', userId: message.user ?? '' },
        'could not report a key seen in a Slack message',
      );
      return;
    }
    for (const report of reports) {
      if (report.status === 'unknown' || !report.reported) continue;
      if (report.status === 'live') deps.metrics.leakReports.inc();
      deps.logger.warn(
        {
          keyId: report.key.id,
          keyName: report.key.name,
          // `display`, not `secret`: the logger redacts fields named secret, and this is only the display form.
          display: report.secret.display,
          channel: message.channel,
          status: report.status,
          contained: report.contained?.action,
        },
        report.status === 'live'
          ? 'a working key was posted in a Slack channel: replying in the thread, telling its maintainers'
          : 'an expired key was posted in a Slack channel: noting in the thread that it no longer works',
      );
    }
  };
}
