import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Clock, systemClock } from '../clock.ts';
import type { VerifyFailureCode, VerifyResult } from '../keys/verification.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import type { Verifier } from '../services/verify-key.ts';
import { createBearerCheck } from './bearer.ts';
import { clientIpFromHeaders, userAgentFromHeaders } from './client-identity.ts';
import { answerFailure } from './respond.ts';
import { createResponseBatch } from './response-batch.ts';

/** Requests to this path and every path below it are authorisation questions (Envoy appends the path). */
export const AUTHORIZE_PATH = '/v1/keys/authorize';

/** True for /v1/keys/authorize, /v1/keys/authorize/… and /v1/keys/authorize?…, not /v1/keys/authorizeX. */
export function isAuthorizePath(url: string): boolean {
  if (!url.startsWith(AUTHORIZE_PATH)) return false;
  if (url.length === AUTHORIZE_PATH.length) return true;
  const next = url.charCodeAt(AUTHORIZE_PATH.length);
  return next === 47 /* / */ || next === 63 /* ? */;
}

/** One prepared answer: status, its whole header list (flat, content-length included) and body. */
interface Prepared {
  status: number;
  head: readonly string[];
  body: Buffer;
}

function prepared(status: number, headers: readonly string[], json?: object): Prepared {
  if (!json) return { status, head: [...headers, 'content-length', '0'], body: EMPTY };
  const body = Buffer.from(JSON.stringify(json));
  return {
    status,
    head: [
      ...headers,
      'content-type',
      'application/json; charset=utf-8',
      'content-length',
      String(body.length),
    ],
    body,
  };
}

const EMPTY = Buffer.alloc(0);
const REALM = 'Bearer realm="api"';

const GATEWAY_REFUSED = prepared(403, ['x-rekey-code', 'GATEWAY_TOKEN'], {
  error: 'forbidden',
  code: 'GATEWAY_TOKEN',
  message: 'The gateway must send X-Rekey-Gateway-Token: <one of REKEY_API_TOKENS>',
});
const MISSING = prepared(401, ['x-rekey-code', 'MISSING', 'www-authenticate', REALM], {
  error: 'unauthorized',
  code: 'MISSING',
  message: 'Send your API key in X-Api-Key or Authorization: Bearer <key>',
});
const REFUSED: Record<VerifyFailureCode, Prepared> = {
  MALFORMED: refused('MALFORMED', 'This is not an API key: check it was copied whole'),
  NOT_FOUND: refused('NOT_FOUND', 'This API key does not exist or was deleted'),
  EXPIRED: refused('EXPIRED', 'This API key was rotated and has stopped working: use the new one'),
};
const PRODUCT_REFUSED = prepared(403, ['x-rekey-code', 'PRODUCT'], {
  error: 'forbidden',
  code: 'PRODUCT',
  message: 'This API key is not allowed to use this API',
});
// Empty body (the answer table promises 401/403 a JSON line, nothing else): the code and Retry-After
// are all a gateway or a client needs.
const UNAVAILABLE = prepared(503, ['x-rekey-code', 'UNAVAILABLE', 'retry-after', '1']);

function refused(code: VerifyFailureCode, message: string): Prepared {
  return prepared(401, ['x-rekey-code', code, 'www-authenticate', `${REALM}, error="invalid_token"`], {
    error: 'unauthorized',
    code,
    message,
  });
}

/** The 200 answer's headers for a valid verdict. */
function grantedHead(result: Extract<VerifyResult, { valid: true }>): readonly string[] {
  const head = [
    'x-rekey-key-id',
    result.keyId,
    'x-rekey-key-name',
    result.name,
    'x-rekey-products',
    result.products.join(','),
    'x-rekey-status',
    result.status,
  ];
  if (result.status === 'expiring' && result.expiresAt) head.push('x-rekey-expires-at', result.expiresAt);
  head.push('content-length', '0');
  return head;
}

/** The client's key: X-Api-Key, else `Authorization: Bearer <key>`; undefined when neither is there. */
function presentedKey(req: IncomingMessage): string | undefined {
  const apiKey = req.headers['x-api-key'];
  if (typeof apiKey === 'string' && apiKey !== '') return apiKey;
  const authorization = req.headers.authorization;
  if (
    authorization !== undefined &&
    authorization.length > 7 &&
    authorization.slice(0, 7).toLowerCase() === 'bearer '
  ) {
    const key = authorization.slice(7).trim();
    if (key !== '') return key;
  }
  return undefined;
}

const LOG_EVERY_MS = 60_000;

/**
 * `/v1/keys/authorize[/…]`, any method: forward authorisation for gateways (nginx auth_request, Envoy
 * ext_authz in HTTP mode, Traefik ForwardAuth). The gateway forwards its client's headers and lets the
 * request through on 2xx. The order of checks: the gateway's own credential (403), the client's key
 * present (401), the verdict of the same cached verifier as /v1/keys/verify (401 unless valid), the
 * route's product (403). The body is never read: node discards it once the answer is written.
 *
 * This is a hot path like verify: answers are prepared once (refusals at start, grants once per cached
 * verdict), nothing logs per request, and cache hits are answered in the same tick.
 */
export function createAuthorizeRoute(deps: {
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
  /** Only for spacing the refusal logs. */
  clock?: Clock;
}) {
  const clock = deps.clock ?? systemClock;
  const gatewayTrusted = createBearerCheck(deps.apiTokens, { scheme: 'bare' });
  const tally = deps.metrics.verifyTally;
  const verifyErrors = deps.metrics.databaseErrors.labels({ operation: 'verify' });
  const duration = deps.metrics.verifyDuration;
  const batch = createResponseBatch({
    onWritten: (started, written) => duration.observe((written - started) / 1000),
  });

  // Verdicts the cache hands out are frozen and reused, so their headers are built once per verdict.
  const granted = new WeakMap<object, readonly string[]>();
  const headFor = (result: Extract<VerifyResult, { valid: true }>) => {
    let head = granted.get(result);
    if (!head) {
      head = grantedHead(result);
      if (Object.isFrozen(result)) granted.set(result, head);
    }
    return head;
  };

  const answer = (res: ServerResponse, result: VerifyResult, product: unknown, started: number) => {
    // Counted as a verification whatever the product check says: the key was verified.
    tally.add(result.valid ? result.status : result.code);
    if (!result.valid) {
      const refusal = REFUSED[result.code];
      batch.send(res, refusal.body, started, refusal.status, refusal.head);
    } else if (typeof product === 'string' && !result.products.includes(product)) {
      batch.send(res, PRODUCT_REFUSED.body, started, PRODUCT_REFUSED.status, PRODUCT_REFUSED.head);
    } else {
      batch.send(res, EMPTY, started, 200, headFor(result));
    }
  };

  const unavailable = (res: ServerResponse, started: number) => {
    // Logged once per outage by the cache's onUnavailable, not once per request.
    tally.add('UNAVAILABLE');
    verifyErrors.inc();
    write(res, UNAVAILABLE);
    duration.observe((performance.now() - started) / 1000);
  };

  // A misconfigured gateway (or someone probing) can send thousands of refused requests a second: one
  // log line a minute says it is happening and how often, without flooding the logs.
  let refusedSinceLog = 0;
  let lastLogMs = Number.NEGATIVE_INFINITY;
  const refuseGateway = (req: IncomingMessage, res: ServerResponse) => {
    refusedSinceLog++;
    const nowMs = clock.now().getTime();
    if (nowMs - lastLogMs >= LOG_EVERY_MS) {
      deps.logger.warn(
        { refused: refusedSinceLog, remoteAddress: req.socket.remoteAddress },
        'authorize: refused requests without a valid X-Rekey-Gateway-Token (set it to one of REKEY_API_TOKENS in the gateway configuration)',
      );
      lastLogMs = nowMs;
      refusedSinceLog = 0;
    }
    write(res, GATEWAY_REFUSED);
  };

  return (req: IncomingMessage, res: ServerResponse) => {
    const started = performance.now();
    if (!gatewayTrusted(req.headers['x-rekey-gateway-token'] as string | undefined, req.socket)) {
      return refuseGateway(req, res);
    }
    const key = presentedKey(req);
    if (key === undefined) return write(res, MISSING);
    const product = req.headers['x-rekey-product'];
    // Who the gateway says presented it (X-Forwarded-For / X-Real-IP, User-Agent): counted, never decisive.
    const ip = clientIpFromHeaders(req.headers);
    const userAgent = userAgentFromHeaders(req.headers);
    // A cache hit is answered in the same tick, with no promise in between: this is most traffic.
    const now = deps.verifyNow?.(key, ip, userAgent, req);
    if (now) return answer(res, now, product, started);
    deps
      .verify(key, ip, userAgent, req)
      .then(
        (result) => answer(res, result, product, started),
        () => unavailable(res, started),
      )
      // A throw while answering comes after the server's own catch has returned: 500 here.
      .catch((error: unknown) => answerFailure(deps.logger, error, res, AUTHORIZE_PATH));
  };
}

function write(res: ServerResponse, answer: Prepared): void {
  res.writeHead(answer.status, answer.head as string[]);
  res.end(answer.body);
}
