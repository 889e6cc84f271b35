import type { IncomingMessage, ServerResponse } from 'node:http';
import type { VerifyResult } from '../keys/verification.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import type { Verifier } from '../services/verify-key.ts';
import { createBearerCheck, refuseUnauthorized } from './bearer.ts';
import { parseClientField } from './client-identity.ts';
import { BodyTooLargeError, readBodyThen } from './read-body.ts';
import { answerFailure, sendJson } from './respond.ts';
import { createResponseBatch } from './response-batch.ts';
import { VERIFY_PATH } from './routes.ts';

const BODY_LIMIT = 4096;

/** What gateways send, byte for byte; anything else (spaces, escapes, more fields) takes JSON.parse. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it must refuse
const PLAIN_BODY = /^\{"key":"([^"\\\u0000-\u001f]{0,200})"\}$/;
/**
 * The same with the client as a gateway passes it, `{"key":"…","client":{"ip":"…","userAgent":"…"}}`:
 * the address still goes through parseClientField's check, like any other body.
 */
const PLAIN_CLIENT_BODY =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it must refuse
  /^\{"key":"([^"\\\u0000-\u001f]{0,200})","client":\{"ip":"([0-9A-Fa-f.:]{1,45})","userAgent":"([^"\\\u0000-\u001f]{0,256})"\}\}$/;

type VerifyBody =
  | { key: string; ip: string | null; userAgent: string | null }
  /** Not that JSON shape; `client`: only its client field is wrong. */
  | { invalid: 'body' | 'client' };

const BAD_BODY = { invalid: 'body' } as const;
const BAD_CLIENT = { invalid: 'client' } as const;

function parseVerifyBody(text: string): VerifyBody {
  const plain = PLAIN_BODY.exec(text);
  if (plain) return { key: plain[1]!, ip: null, userAgent: null };
  const withClient = PLAIN_CLIENT_BODY.exec(text);
  const parsed = withClient
    ? { key: withClient[1]!, client: { ip: withClient[2]!, userAgent: withClient[3]! } }
    : parseJson(text);
  if (
    !parsed ||
    typeof parsed !== 'object' ||
    Array.isArray(parsed) ||
    typeof (parsed as { key?: unknown }).key !== 'string'
  ) {
    return BAD_BODY;
  }
  const { key, client } = parsed as { key: string; client?: unknown };
  const identity = parseClientField(client);
  if (identity === null) return BAD_CLIENT;
  return { key, ip: identity?.ip ?? null, userAgent: identity?.userAgent || null };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
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
 * POST /v1/keys/verify (see the README). Bearer first (401), then the body shape (400), then the verdict
 * (200 either way). Bad input is never a 5xx; an unreachable database is a 503 with Retry-After,
 * never a guess. This is the gateways' hot path: nothing here logs or allocates per request beyond
 * what the answer needs.
 */
export function createVerifyRoute(deps: {
  verify: Verifier;
  /**
   * Optional synchronous answer (cache hit, malformed, canary); `undefined` means "ask `verify`". Both
   * get the client (`ip`, `userAgent`) for the usage tally, and the request as `asker`, read only for a
   * canary's alarm (src/http/canary-asker.ts).
   */
  verifyNow?: (
    token: unknown,
    ip?: string | null,
    userAgent?: string | null,
    asker?: unknown,
  ) => VerifyResult | undefined;
  apiTokens: readonly string[];
  metrics: Metrics;
  logger: Logger;
}) {
  const authorised = createBearerCheck(deps.apiTokens);
  const serialise = createSerialiser();
  const tally = deps.metrics.verifyTally;
  const verifyErrors = deps.metrics.databaseErrors.labels({ operation: 'verify' });
  const duration = deps.metrics.verifyDuration;

  // Service time is measured to the write, so it includes the wait for the rest of the turn's answers.
  const batch = createResponseBatch({
    onWritten: (started, written) => duration.observe((written - started) / 1000),
  });

  const answer = (res: ServerResponse, result: Result, started: number) => {
    tally.add(result.valid ? result.status : result.code);
    batch.send(res, serialise(result), started);
  };

  const unavailable = (res: ServerResponse, started: number) => {
    // Logged once per outage by the cache's onUnavailable, not once per request.
    tally.add('UNAVAILABLE');
    verifyErrors.inc();
    sendJson(
      res,
      503,
      { error: 'unavailable', message: 'Key store unavailable; retry shortly' },
      { 'retry-after': '1' },
    );
    duration.observe((performance.now() - started) / 1000);
  };

  // The body is read in callbacks, after the server's own catch has returned: a throw there is caught
  // here and ends this request with 500, like any other handler's.
  const fail = (res: ServerResponse, error: unknown) => answerFailure(deps.logger, error, res, VERIFY_PATH);

  const decide = (req: IncomingMessage, res: ServerResponse, text: string, started: number) => {
    const body = parseVerifyBody(text);
    if ('invalid' in body) {
      // Nothing is verified, so nothing is counted.
      sendJson(res, 400, {
        error: 'bad_request',
        message:
          body.invalid === 'client'
            ? '"client" must be {"ip": "<IP address>", "userAgent": "<at most 256 characters>"} (both optional)'
            : 'The body must be JSON like {"key": "rk_live_…"}',
      });
      return;
    }
    // A cache hit is answered in the same tick, with no promise in between: this is most traffic.
    const now = deps.verifyNow?.(body.key, body.ip, body.userAgent, req);
    if (now) return answer(res, now, started);
    deps
      .verify(body.key, body.ip, body.userAgent, req)
      .then(
        (result) => answer(res, result, started),
        () => unavailable(res, started),
      )
      .catch((error: unknown) => fail(res, error));
  };

  return (req: IncomingMessage, res: ServerResponse) => {
    const started = performance.now();
    if (!authorised(req.headers.authorization, req.socket)) {
      refuseUnauthorized(req, res);
      return;
    }
    readBodyThen(req, BODY_LIMIT, (error, text) => {
      if (error) {
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
      try {
        decide(req, res, text, started);
      } catch (error) {
        fail(res, error);
      }
    });
  };
}
