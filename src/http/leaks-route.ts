import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { isAppError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import type { Services } from '../services/services.ts';
import { createBearerCheck, refuseUnauthorized } from './bearer.ts';
import { BodyTooLargeError, readBodyThen } from './read-body.ts';
import { sendJson } from './respond.ts';

export const LEAKS_PATH = '/v1/leaks';

/** 100 findings with generous URLs fit easily; anything larger is not a scanner's batch. */
const BODY_LIMIT = 512 * 1024;
export const MAX_FINDINGS = 100;

/**
 * What GitHub's secret scanning partner program sends (other scanners can send the same): the key
 * string, where it was found and who found it. Other fields (`type`) are accepted and ignored.
 */
const Finding = z.object({
  token: z.string().max(1000),
  url: z.string().min(1).max(2000),
  source: z.string().min(1).max(100),
});
const Findings = z.array(Finding).max(MAX_FINDINGS);

type Label = 'true_positive' | 'false_positive';

/**
 * POST /v1/leaks (see the README): secret scanners report key strings they found outside Slack. Bearer
 * first — one of REKEY_SCANNER_TOKENS and nothing else: a gateway's API token, which sees every
 * client's key, is refused here (401) — then the whole body is checked before anything is looked up
 * (400, nothing changed), then the findings are looked up together (one statement) and labelled in
 * order: `true_positive` for a key rekey issued (working or expired), `false_positive` otherwise. A
 * working one is reported like a key pasted in Slack — audited each time, shown on the card, its people
 * told through the leak outbox at most once per 10 minutes per key — once per key string and URL.
 */
export function createLeaksRoute(deps: {
  reportLeaks: Services['reportLeaks'];
  /** REKEY_SCANNER_TOKENS. */
  scannerTokens: readonly string[];
  logger: Logger;
  /** `rekey_leak_reports_total`: new reports of a working key (what the RekeyLeakReported alert reads). */
  metrics?: Pick<Metrics, 'leakReports'>;
}) {
  const authorised = createBearerCheck(deps.scannerTokens);

  const answer = async (res: ServerResponse, text: string) => {
    const findings = parseFindings(text);
    if (!findings) {
      sendJson(res, 400, {
        error: 'bad_request',
        message: `The body must be a JSON array of at most ${MAX_FINDINGS} {"token", "url", "source"} strings`,
      });
      return;
    }
    const labels: { label: Label }[] = [];
    let reported = 0;
    try {
      const reports = await deps.reportLeaks(
        findings.map(({ token, url, source }) => ({
          token,
          place: { kind: 'scanner' as const, source, url },
        })),
      );
      for (const report of reports) {
        labels.push({ label: report.status === 'unknown' ? 'false_positive' : 'true_positive' });
        if (report.status === 'live' && report.reported) reported++;
      }
    } catch (error) {
      if (!isAppError(error, 'DATABASE_UNAVAILABLE')) throw error;
      deps.logger.warn({ err: error }, 'could not check reported leaks: the database is unreachable');
      sendJson(
        res,
        503,
        { error: 'unavailable', message: 'Key store unavailable; send the findings again shortly' },
        { 'retry-after': '1' },
      );
      return;
    }
    const known = labels.filter((l) => l.label === 'true_positive').length;
    if (reported > 0) deps.metrics?.leakReports.inc(reported);
    if (known > 0)
      deps.logger.info({ findings: findings.length, known, reported }, 'a scanner reported leaked keys');
    sendJson(res, 200, labels);
  };

  return (req: IncomingMessage, res: ServerResponse): Promise<void> | undefined => {
    if (req.method !== 'POST') {
      req.resume();
      sendJson(res, 405, { error: 'method_not_allowed' }, { allow: 'POST' });
      return;
    }
    if (!authorised(req.headers.authorization, req.socket)) {
      refuseUnauthorized(req, res, 'REKEY_SCANNER_TOKENS');
      return;
    }
    return new Promise<void>((resolve, reject) => {
      readBodyThen(req, BODY_LIMIT, (error, text) => {
        if (error instanceof BodyTooLargeError) {
          sendJson(res, 413, {
            error: 'body_too_large',
            message: `The body must be under ${BODY_LIMIT} bytes`,
          });
          resolve();
        } else if (error) {
          res.destroy();
          resolve();
        } else {
          answer(res, text).then(resolve, reject);
        }
      });
    });
  };
}

function parseFindings(text: string): z.infer<typeof Findings> | null {
  try {
    const parsed = Findings.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
