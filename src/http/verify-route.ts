import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import type { Verifier } from '../services/verify-key.ts';
import { createBearerCheck } from './bearer.ts';
import { BodyTooLargeError, readBody } from './read-body.ts';
import { sendJson } from './respond.ts';

const BODY_LIMIT = 4096;

function parseVerifyBody(text: string): { key: string } | null {
  try {
    const body = JSON.parse(text) as unknown;
    if (
      body &&
      typeof body === 'object' &&
      !Array.isArray(body) &&
      typeof (body as { key?: unknown }).key === 'string'
    ) {
      return { key: (body as { key: string }).key };
    }
  } catch {}
  return null;
}

/**
 * POST /v1/keys/verify (DESIGN §5). Bearer first (401), then the body shape (400), then the verdict
 * (200 either way). Bad input is never a 5xx; an unreachable database is a 503 with Retry-After,
 * never a guess.
 */
export function createVerifyRoute(deps: {
  verify: Verifier;
  apiTokens: readonly string[];
  metrics: Metrics;
  logger: Logger;
}) {
  const authorised = createBearerCheck(deps.apiTokens);
  return async (req: IncomingMessage, res: ServerResponse) => {
    const started = performance.now();
    if (!authorised(req.headers.authorization)) {
      req.resume();
      sendJson(
        res,
        401,
        { error: 'unauthorized', message: 'Send Authorization: Bearer <one of REKEY_API_TOKENS>' },
        {
          'www-authenticate': 'Bearer',
        },
      );
      return;
    }
    let text: string;
    try {
      text = await readBody(req, BODY_LIMIT);
    } catch (error) {
      if (error instanceof BodyTooLargeError) {
        sendJson(res, 413, {
          error: 'body_too_large',
          message: `The body must be under ${BODY_LIMIT} bytes`,
        });
      } else {
        res.destroy();
      }
      return;
    }
    const body = parseVerifyBody(text);
    if (!body) {
      sendJson(res, 400, {
        error: 'bad_request',
        message: 'The body must be JSON like {"key": "rk_live_…"}',
      });
      return;
    }
    try {
      const result = await deps.verify(body.key);
      deps.metrics.verifyOutcomes.inc({ outcome: result.valid ? result.status : result.code });
      sendJson(res, 200, result);
    } catch (error) {
      deps.metrics.verifyOutcomes.inc({ outcome: 'UNAVAILABLE' });
      deps.metrics.databaseErrors.inc({ operation: 'verify' });
      deps.logger.error({ err: error }, 'verify failed: database unavailable');
      sendJson(
        res,
        503,
        { error: 'unavailable', message: 'Key store unavailable; retry shortly' },
        { 'retry-after': '1' },
      );
    } finally {
      deps.metrics.verifyDuration.observe((performance.now() - started) / 1000);
    }
  };
}
