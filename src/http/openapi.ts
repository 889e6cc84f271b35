import type { ServerResponse } from 'node:http';

const json = (schema: object) => ({ 'application/json': { schema } });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const header = (description: string, schema: object = { type: 'string' }) => ({ description, schema });

const authorizeRefusal = (status: 401 | 403) => ({
  description:
    status === 401
      ? 'The client sent no key (MISSING) or a key that does not let it in (MALFORMED, NOT_FOUND, EXPIRED).'
      : 'The gateway is not trusted (GATEWAY_TOKEN) or the key lacks the product named in X-Rekey-Product (PRODUCT).',
  headers: {
    'X-Rekey-Code': {
      description: 'Why the request was refused.',
      schema:
        status === 401
          ? { type: 'string', enum: ['MISSING', 'MALFORMED', 'NOT_FOUND', 'EXPIRED'] }
          : { type: 'string', enum: ['GATEWAY_TOKEN', 'PRODUCT'] },
    },
    ...(status === 401
      ? { 'WWW-Authenticate': header('`Bearer realm="api"` (with `error="invalid_token"` for a bad key).') }
      : {}),
  },
  content: json(ref('AuthorizeRefusal')),
});

/** The same answers at every method: a gateway may forward the client's method unchanged. */
const authorizeOperation = {
  tags: ['gateways'],
  summary: 'Forward authorisation (nginx auth_request, Envoy ext_authz HTTP, Traefik ForwardAuth)',
  description:
    'Answers whether the client request whose headers are forwarded may pass. The body is ignored and ' +
    'never read. Paths below /v1/keys/authorize/ get the same answers (Envoy appends the original ' +
    'path). The verdict comes from the same cached verifier as POST /v1/keys/verify.',
  security: [{ gatewayToken: [] }],
  parameters: [
    {
      name: 'X-Api-Key',
      in: 'header',
      required: false,
      description: "The client's API key. Without it, the key is read from `Authorization: Bearer <key>`.",
      schema: { type: 'string' },
    },
    {
      name: 'X-Rekey-Product',
      in: 'header',
      required: false,
      description: 'Set by the gateway per route: the key must carry this product, otherwise 403 PRODUCT.',
      schema: { type: 'string' },
    },
    {
      name: 'X-Forwarded-For',
      in: 'header',
      required: false,
      description:
        "The client's address as the gateway saw it: the first address is counted as the client that " +
        'presented the key (never decides the answer). Without it, `X-Real-IP`.',
      schema: { type: 'string' },
    },
    {
      name: 'X-Real-IP',
      in: 'header',
      required: false,
      description: "The client's address, when there is no `X-Forwarded-For`.",
      schema: { type: 'string' },
    },
    {
      name: 'User-Agent',
      in: 'header',
      required: false,
      description: "The client's user agent (its first 256 characters are counted with its address).",
      schema: { type: 'string' },
    },
  ],
  responses: {
    '200': {
      description: 'The key is valid (and carries the product, when one was named). Empty body.',
      headers: {
        'X-Rekey-Key-Id': header('The key’s id.'),
        'X-Rekey-Key-Name': header('The key’s name.'),
        'X-Rekey-Products': header('The key’s products, comma-separated (empty when it has none).'),
        'X-Rekey-Status': header('`expiring` while an old key string is in its grace period.', {
          type: 'string',
          enum: ['active', 'expiring'],
        }),
        'X-Rekey-Expires-At': header('Only while expiring: when this key string stops working.', {
          type: 'string',
          format: 'date-time',
        }),
      },
    },
    '401': authorizeRefusal(401),
    '403': authorizeRefusal(403),
    '503': {
      description:
        'The key is not cached and the database is unreachable: no guess is made. Gateways fail closed.',
      headers: {
        'Retry-After': header('Seconds to wait before asking again.'),
        'X-Rekey-Code': header('Why no verdict was given.', { type: 'string', enum: ['UNAVAILABLE'] }),
      },
    },
  },
};

const authorizePathItem = Object.fromEntries(
  ['get', 'head', 'post', 'put', 'patch', 'delete', 'options'].map((method) => [method, authorizeOperation]),
);

/** OpenAPI 3.1 description of rekey's HTTP API: only what this server answers. */
export const openApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'rekey HTTP API',
    version: '1',
    description:
      'Key verification for gateways and services, forward authorisation for nginx, Envoy and Traefik, ' +
      'leak reports from secret scanners, and the operational endpoints. Slack’s own endpoint (/slack/events) is not described here. ' +
      'A process started with REKEY_ROLE=verify answers only verify, authorize, the operational endpoints and this document; ' +
      'one with REKEY_ROLE=bot only /v1/leaks and the operational endpoints (not this document). Elsewhere they answer 404.',
  },
  paths: {
    '/v1/keys/verify': {
      post: {
        operationId: 'verifyKey',
        tags: ['gateways'],
        summary: 'Is this key valid right now?',
        security: [{ apiToken: [] }],
        requestBody: {
          required: true,
          content: json({
            type: 'object',
            required: ['key'],
            properties: {
              key: { type: 'string', description: 'The key string the client presented.' },
              client: {
                type: 'object',
                description:
                  'Who presented the key, as the gateway saw them: counted per key so people can see who ' +
                  'still sends an old key (`keys usage --clients`, the App Home); it never changes the ' +
                  'verdict. Anything else than this shape is a 400, and nothing is counted.',
                additionalProperties: false,
                properties: {
                  ip: {
                    type: 'string',
                    description: 'An IPv4 or IPv6 address literal, without a zone (`%eth0`).',
                    oneOf: [{ format: 'ipv4' }, { format: 'ipv6' }],
                    examples: ['10.0.3.7'],
                  },
                  userAgent: {
                    type: 'string',
                    maxLength: 256,
                    description: 'Printable: no control characters (NUL, newlines).',
                    pattern: '^[^\\u0000-\\u001f\\u007f]*$',
                    examples: ['python-requests/2.31'],
                  },
                },
              },
            },
          }),
        },
        responses: {
          '200': {
            description: 'The verdict (valid or not: a refused key is still a 200 answer).',
            content: json({ oneOf: [ref('ValidKey'), ref('InvalidKey')] }),
          },
          '400': {
            description:
              'The body is not `{"key": string}`, or its `client` is not `{"ip", "userAgent"}` as described.',
            content: json(ref('Error')),
          },
          '401': {
            description: 'No valid `Authorization: Bearer <one of REKEY_API_TOKENS>`.',
            headers: { 'WWW-Authenticate': header('`Bearer`.') },
            content: json(ref('Error')),
          },
          '405': { description: 'Only POST.', content: json(ref('Error')) },
          '413': { description: 'The body is over 4096 bytes.', content: json(ref('Error')) },
          '503': {
            description: 'The key is not cached and the database is unreachable.',
            headers: { 'Retry-After': header('Seconds to wait before asking again.') },
            content: json(ref('Error')),
          },
        },
      },
    },
    '/v1/leaks': {
      post: {
        operationId: 'reportLeaks',
        tags: ['scanners'],
        summary: 'Secret scanners report key strings they found (GitHub secret scanning partner format)',
        description:
          'Each finding is labelled in order: `true_positive` for a key string rekey issued (working or ' +
          'expired), `false_positive` otherwise. A working key is reported once per key string and URL: ' +
          'audited each time and shown on its card; its maintainers and alert channel are told at most once ' +
          'per 10 minutes per key string (later reports are summed into the next message); a key whose ' +
          'on-leak policy is `rotate-1h` or `rotate-now` is rotated (a leaked old key ended) at once. The ' +
          'findings are looked up together; the body is checked whole before anything is looked up: a bad ' +
          'body changes nothing. Only scanner tokens (REKEY_SCANNER_TOKENS) are accepted here.',
        security: [{ scannerToken: [] }],
        requestBody: {
          required: true,
          content: json({
            type: 'array',
            maxItems: 100,
            items: {
              type: 'object',
              required: ['token', 'url', 'source'],
              properties: {
                token: { type: 'string', maxLength: 1000, description: 'The key string found.' },
                url: { type: 'string', minLength: 1, maxLength: 2000, description: 'Where it was found.' },
                source: {
                  type: 'string',
                  minLength: 1,
                  maxLength: 100,
                  description: 'Who or what found it (e.g. `commit`, `gist`, a scanner’s name).',
                },
              },
            },
          }),
        },
        responses: {
          '200': {
            description: 'One label per finding, in the order sent.',
            content: json({
              type: 'array',
              items: {
                type: 'object',
                required: ['label'],
                additionalProperties: false,
                properties: { label: { enum: ['true_positive', 'false_positive'] } },
              },
            }),
          },
          '400': {
            description: 'The body is not an array of at most 100 `{token, url, source}` strings.',
            content: json(ref('Error')),
          },
          '401': {
            description:
              'No valid `Authorization: Bearer <one of REKEY_SCANNER_TOKENS>` (an API token is refused).',
            headers: { 'WWW-Authenticate': header('`Bearer`.') },
            content: json(ref('Error')),
          },
          '405': { description: 'Only POST.', content: json(ref('Error')) },
          '413': { description: 'The body is over 512 KiB.', content: json(ref('Error')) },
          '503': {
            description: 'The database is unreachable: send the findings again.',
            headers: { 'Retry-After': header('Seconds to wait before sending again.') },
            content: json(ref('Error')),
          },
        },
      },
    },
    '/v1/keys/authorize': { $ref: '#/components/pathItems/Authorize' },
    '/v1/keys/authorize/{path}': {
      $ref: '#/components/pathItems/AuthorizeBelow',
    },
    '/healthz': {
      get: {
        operationId: 'health',
        tags: ['operations'],
        summary: 'The process is alive.',
        responses: {
          '200': {
            description: 'Alive.',
            content: json({ type: 'object', required: ['ok'], properties: { ok: { const: true } } }),
          },
        },
      },
    },
    '/readyz': {
      get: {
        operationId: 'readiness',
        tags: ['operations'],
        summary: 'The database is reachable: this replica can take traffic.',
        responses: {
          '200': { description: 'Ready.', content: json(ref('Readiness')) },
          '503': { description: 'Not ready: keep traffic away for now.', content: json(ref('Readiness')) },
        },
      },
    },
    '/metrics': {
      get: {
        operationId: 'metrics',
        tags: ['operations'],
        summary: 'Prometheus metrics (verifications by outcome, service time, cache, rotations, …).',
        responses: {
          '200': {
            description: 'Prometheus text exposition format.',
            content: { 'text/plain': { schema: { type: 'string' } } },
          },
        },
      },
    },
    '/openapi.json': {
      get: {
        operationId: 'openApi',
        tags: ['operations'],
        summary: 'This document.',
        responses: {
          '200': { description: 'OpenAPI 3.1.', content: json({ type: 'object' }) },
        },
      },
    },
  },
  components: {
    securitySchemes: {
      apiToken: {
        type: 'http',
        scheme: 'bearer',
        description: 'One of REKEY_API_TOKENS: gateways, for verify and authorize only.',
      },
      scannerToken: {
        type: 'http',
        scheme: 'bearer',
        description: 'One of REKEY_SCANNER_TOKENS: secret scanners, for POST /v1/leaks only.',
      },
      gatewayToken: {
        type: 'apiKey',
        in: 'header',
        name: 'X-Rekey-Gateway-Token',
        description:
          'The gateway’s own credential: one of REKEY_API_TOKENS. Missing or wrong: 403 GATEWAY_TOKEN.',
      },
    },
    pathItems: {
      Authorize: authorizePathItem,
      AuthorizeBelow: {
        parameters: [
          {
            name: 'path',
            in: 'path',
            required: true,
            description: 'Any rest of path, slashes included (ignored).',
            schema: { type: 'string' },
          },
        ],
        ...authorizePathItem,
      },
    },
    schemas: {
      ValidKey: {
        type: 'object',
        required: ['valid', 'keyId', 'name', 'products', 'status', 'expiresAt'],
        additionalProperties: false,
        properties: {
          valid: { const: true },
          keyId: { type: 'string' },
          name: { type: 'string' },
          products: { type: 'array', items: { type: 'string' } },
          status: { enum: ['active', 'expiring'] },
          expiresAt: {
            type: ['string', 'null'],
            format: 'date-time',
            description: 'When this key string stops working (null for the current one).',
          },
        },
      },
      InvalidKey: {
        type: 'object',
        required: ['valid', 'code'],
        additionalProperties: false,
        properties: {
          valid: { const: false },
          code: { enum: ['MALFORMED', 'NOT_FOUND', 'EXPIRED'] },
        },
      },
      AuthorizeRefusal: {
        type: 'object',
        required: ['error', 'code', 'message'],
        properties: {
          error: { enum: ['unauthorized', 'forbidden'] },
          code: { enum: ['MISSING', 'MALFORMED', 'NOT_FOUND', 'EXPIRED', 'GATEWAY_TOKEN', 'PRODUCT'] },
          message: { type: 'string', description: 'What to do next, for a person.' },
        },
      },
      Error: {
        type: 'object',
        required: ['error'],
        properties: { error: { type: 'string' }, message: { type: 'string' } },
      },
      Readiness: {
        type: 'object',
        required: ['ready'],
        properties: { ready: { type: 'boolean' } },
      },
    },
  },
} as const;

/** Serialised once: the document never changes while the process runs. */
let body: Buffer | undefined;

export function sendOpenApi(res: ServerResponse): void {
  body ??= Buffer.from(JSON.stringify(openApiDocument));
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length });
  res.end(body);
}
