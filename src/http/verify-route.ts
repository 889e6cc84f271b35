import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import type { Verifier } from '../services/verify-key.ts';
import { createBearerCheck } from './bearer.ts';
import { BodyTooLargeError, readBody } from './read-body.ts';
import { sendJson } from './respond.ts';

const BODY_LIMIT = 4096;
const JSON_TYPE = 'application/json; charset=utf-8';
const OUTCOMES = ['active', 'expiring', 'MALFORMED', 'NOT_FOUND', 'EXPIRED', 'UNAVAILABLE'] as const;
type Outcome = (typeof OUTCOMES)[number];

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

type Result = Awaited<ReturnType<Verifier>>;

/**
 * Verdicts the cache hands out are frozen and reused (one object per cached secret, singletons for
 * failures), so their JSON is computed once and kept by identity; anything else is serialised per call.
 */
function createSerialiser() {
  const memo = new WeakMap<object, Buffer>();
  return (result: Result): Buffer => {
    let body = memo.get(result);
    if (!body) {
      body = Buffer.from(JSON.stringify(result));
      if (Object.isFrozen(result)) memo.set(result, body);
    }
    return body;
  };
}

/**
 * POST /v1/keys/verify (DESIGN §5). Bearer first (401), then the body shape (400), then the verdict
 * (200 either way). Bad input is never a 5xx; an unreachable database is a 503 with Retry-After,
 * never a guess. This is the gateways' hot path: nothing here logs or allocates per request beyond
 * what the answer needs.
 */
export function createVerifyRoute(deps: {
  verify: Verifier;
  apiTokens: readonly string[];
  metrics: Metrics;
  logger: Logger;
}) {
  const authorised = createBearerCheck(deps.apiTokens);
  const serialise = createSerialiser();
  // Label lookups cost more than the increments: bind each outcome's counter once.
  const outcomes = Object.fromEntries(
    OUTCOMES.map((outcome) => [outcome, deps.metrics.verifyOutcomes.labels({ outcome })]),
  ) as Record<Outcome, { inc(): void }>;
  const verifyErrors = deps.metrics.databaseErrors.labels({ operation: 'verify' });
  const duration = deps.metrics.verifyDuration;

  return async (req: IncomingMessage, res: ServerResponse) => {
    const started = performance.now();
    if (!authorised(req.headers.authorization, req.socket)) {
      req.resume();
      sendJson(
        res,
        401,
        { error: 'unauthorized', message: 'Send Authorization: Bearer <one of REKEY_API_TOKENS>' },
        { 'www-authenticate': 'Bearer' },
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
    let result: Result;
    try {
      result = await deps.verify(body.key);
    } catch {
      // Logged once per outage by the cache's onUnavailable, not once per request.
      outcomes.UNAVAILABLE.inc();
      verifyErrors.inc();
      sendJson(
        res,
        503,
        { error: 'unavailable', message: 'Key store unavailable; retry shortly' },
        { 'retry-after': '1' },
      );
      duration.observe((performance.now() - started) / 1000);
      return;
    }
    outcomes[result.valid ? result.status : result.code].inc();
    const payload = serialise(result);
    res.writeHead(200, { 'content-type': JSON_TYPE, 'content-length': payload.length });
    res.end(payload);
    duration.observe((performance.now() - started) / 1000);
  };
}
