import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.ts';
import { createLeaksRoute } from '../../src/http/leaks-route.ts';
import { openApiDocument } from '../../src/http/openapi.ts';
import { createRoutes, HTTP_METHODS, SLACK_EVENTS_PATH } from '../../src/http/routes.ts';
import { generateToken } from '../../src/keys/token.ts';
import { createLogger } from '../../src/logger.ts';
import { createMetrics } from '../../src/metrics.ts';
import { createTestKey, rotateTestKey } from '../support/fixtures.ts';
import { openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { testServices } from '../support/test-services.ts';
import { askAuthorize, GATEWAY_TOKEN, startAuthorizeServer } from './authorize-server.ts';

let database: TestDatabase;
let services: ReturnType<typeof testServices>;
let server: Awaited<ReturnType<typeof startAuthorizeServer>>;
let served: typeof openApiDocument;
beforeAll(async () => {
  database = await openTestDatabase();
  services = testServices(database);
  server = await startAuthorizeServer({
    database,
    changes: services.changes,
    clock: services.clock,
    leaks: createLeaksRoute({
      reportLeaks: services.reportLeaks,
      scannerTokens: [GATEWAY_TOKEN],
      logger: createLogger('silent'),
    }),
  });
  served = (await (await fetch(`${server.url}/openapi.json`)).json()) as typeof openApiDocument;
});
afterAll(async () => {
  await server?.close();
  await database?.close();
});

/** JSON pointer escaping of one path segment. */
const pointerSegment = (segment: string) => segment.replaceAll('~', '~0').replaceAll('/', '~1');

/** Checks real answers against the document's own schemas, $refs resolved inside the document. */
function schemaChecker(document: object) {
  // The document's own keys (openapi, paths, responses…) are not JSON Schema keywords: ajv ignores them
  // (strictSchema off) and stays strict about the rest. Formats are not asserted by ajv here;
  // date-times are checked where they occur.
  const ajv = new Ajv2020({ strictSchema: false, validateFormats: false, allErrors: true });
  ajv.addSchema(document, 'openapi.json');
  return (pointer: string[], value: unknown) => {
    const validate = ajv.compile({ $ref: `openapi.json#/${pointer.map(pointerSegment).join('/')}` });
    return validate(value) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
  };
}

type Schema = Record<string, unknown>;
const verifyPost = () => served.paths['/v1/keys/verify'].post.responses;
const authorizeOp = () =>
  served.components.pathItems.Authorize.get as unknown as {
    responses: Record<string, { headers?: Record<string, { schema: Schema }> }>;
  };

const postVerify = async (body: unknown, authorization = `Bearer ${GATEWAY_TOKEN}`) => {
  const res = await fetch(`${server.url}/v1/keys/verify`, {
    method: 'POST',
    headers: { authorization, 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as unknown };
};

describe('GET /openapi.json', () => {
  it('serves a valid OpenAPI 3.1 document, the same one the code exports', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(served) as Parameters<Validator['validate']>[0]);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    expect(served).toEqual(JSON.parse(JSON.stringify(openApiDocument)));
  });

  it('is checked by a validator that refuses a broken document', async () => {
    const broken = structuredClone(served) as unknown as Record<string, unknown>;
    (broken.paths as Record<string, unknown>)['/healthz'] = { get: { responses: { '200': {} } } };
    expect((await new Validator().validate(broken as Parameters<Validator['validate']>[0])).valid).toBe(
      false,
    );
  });

  it('describes exactly the routes this server answers, with their methods, and no other', async () => {
    // The server's own table, with every optional surface wired: a route added there and not
    // described here (or described and not served) fails this test.
    const noop = () => {};
    const table = createRoutes(
      {
        metrics: createMetrics(),
        verify: noop,
        authorize: noop,
        leaks: noop,
        slack: noop,
        ready: () => true,
      },
      { bytes: 1, timeoutMs: 1 },
      noop,
    );
    // Slack's endpoint is Slack's to describe (Bolt, signed requests); nothing else may go undescribed.
    expect(table.filter((route) => !route.documented).map((route) => route.path)).toEqual([
      SLACK_EVENTS_PATH,
    ]);
    const answered = table.filter((route) => route.documented);

    const described = new Map<string, string[]>();
    for (const [path, item] of Object.entries(served.paths as Record<string, Record<string, unknown>>)) {
      const resolved = item.$ref
        ? (served.components.pathItems as Record<string, Record<string, unknown>>)[
            String(item.$ref).split('/').at(-1)!
          ]!
        : item;
      described.set(
        path,
        Object.keys(resolved)
          .filter((key) => (HTTP_METHODS as readonly string[]).includes(key.toUpperCase()))
          .map((key) => key.toUpperCase())
          .sort(),
      );
    }
    const expected = new Map<string, string[]>();
    for (const route of answered) {
      const methods = route.methods === 'any' ? [...HTTP_METHODS] : [...route.methods];
      expected.set(route.path, methods.sort());
      // Every path below it too: OpenAPI spells that as a path parameter.
      if (route.below) expected.set(`${route.path}/{path}`, methods.sort());
    }
    expect(Object.fromEntries([...described].sort())).toEqual(Object.fromEntries([...expected].sort()));

    for (const route of answered.filter((r) => r.methods !== 'any' && r.methods.includes('GET'))) {
      expect((await fetch(`${server.url}${route.path}`)).status, route.path).toBe(200);
    }
  });

  it('matches the real answers of POST /v1/keys/verify', async () => {
    const check = schemaChecker(served);
    const ok = [
      'paths',
      '/v1/keys/verify',
      'post',
      'responses',
      '200',
      'content',
      'application/json',
      'schema',
    ];
    const { token, key } = await createTestKey(services);
    const active = await postVerify({ key: token });
    expect(active.status).toBe(200);
    expect(check(ok, active.json)).toEqual([]);
    await rotateTestKey(services, { id: key.id }, '1h');
    const expiring = await postVerify({ key: token });
    expect(expiring.json).toMatchObject({ status: 'expiring' });
    expect(check(ok, expiring.json)).toEqual([]);
    for (const bad of ['rk_live_nope', generateToken('rk_live').token]) {
      const refused = await postVerify({ key: bad });
      expect(check(ok, refused.json)).toEqual([]);
    }
    // The checker does check: a made-up answer fails.
    expect(check(ok, { valid: true, status: 'active' })).not.toEqual([]);

    const errorAt = (status: string) => [
      'paths',
      '/v1/keys/verify',
      'post',
      'responses',
      status,
      'content',
      'application/json',
      'schema',
    ];
    const badBody = await postVerify('not json');
    expect(badBody.status).toBe(400);
    expect(check(errorAt('400'), badBody.json)).toEqual([]);
    const noBearer = await postVerify({ key: token }, 'Bearer wrong');
    expect(noBearer.status).toBe(401);
    expect(check(errorAt('401'), noBearer.json)).toEqual([]);
    expect(Object.keys(verifyPost())).toEqual(expect.arrayContaining(['200', '400', '401', '413', '503']));
  });

  it('matches the real answers of /v1/keys/authorize: statuses, X-Rekey-* headers and bodies', async () => {
    const check = schemaChecker(served);
    const op = authorizeOp();
    const headerSchema = (status: string, name: string) => {
      const found = Object.entries(op.responses[status]?.headers ?? {}).find(
        ([described]) => described.toLowerCase() === name,
      );
      return found?.[1].schema;
    };
    /** Every x-rekey-* header of a real answer is described for its status, and its value fits. */
    const headersFit = (status: number, headers: Headers) => {
      const problems: string[] = [];
      for (const [name, value] of headers) {
        if (!name.startsWith('x-rekey-') && name !== 'www-authenticate' && name !== 'retry-after') continue;
        const schema = headerSchema(String(status), name);
        if (!schema) problems.push(`${status}: ${name} is not described`);
        else if (schema.enum && !(schema.enum as string[]).includes(value))
          problems.push(`${status}: ${name}=${value} is not one of ${schema.enum}`);
        else if (schema.format === 'date-time' && new Date(value).toISOString() !== value)
          problems.push(`${status}: ${name}=${value} is not an ISO date-time`);
      }
      return problems;
    };
    const refusalBody = ['components', 'schemas', 'AuthorizeRefusal'];

    const { token, key } = await createTestKey(services, { products: ['billing'] });
    const active = await askAuthorize(server.url, { 'x-api-key': token });
    expect(active.status).toBe(200);
    expect(headersFit(200, active.headers)).toEqual([]);
    await rotateTestKey(services, { id: key.id }, '24h');
    const expiring = await askAuthorize(server.url, { 'x-api-key': token });
    expect(expiring.headers.get('x-rekey-expires-at')).not.toBeNull();
    expect(headersFit(200, expiring.headers)).toEqual([]);

    const refusals = [
      await askAuthorize(server.url, {}),
      await askAuthorize(server.url, { 'x-api-key': 'rk_live_nope' }),
      await askAuthorize(server.url, { 'x-api-key': generateToken('rk_live').token }),
      await askAuthorize(server.url, { 'x-api-key': token, 'x-rekey-product': 'payments-api' }),
      await askAuthorize(server.url, { 'x-api-key': token }, { gatewayToken: null }),
    ];
    expect(refusals.map((r) => r.status)).toEqual([401, 401, 401, 403, 403]);
    for (const refusal of refusals) {
      expect(headersFit(refusal.status, refusal.headers)).toEqual([]);
      expect(check(refusalBody, JSON.parse(refusal.body))).toEqual([]);
    }

    // And with the database unreachable: 503, headers described, empty body.
    const down = await startAuthorizeServer({
      database,
      changes: services.changes,
      clock: services.clock,
      verifier: {
        verify: () => Promise.reject(new AppError('DATABASE_UNAVAILABLE', 'database unreachable')),
        verifyNow: () => undefined,
      },
    });
    try {
      const unavailable = await askAuthorize(down.url, { 'x-api-key': generateToken('rk_live').token });
      expect(unavailable.status).toBe(503);
      expect(headersFit(503, unavailable.headers)).toEqual([]);
      expect(unavailable.body).toBe('');
    } finally {
      await down.close();
    }
  });

  it('matches the real answers of POST /v1/leaks', async () => {
    const check = schemaChecker(served);
    const at = (status: string) => [
      'paths',
      '/v1/leaks',
      'post',
      'responses',
      status,
      'content',
      'application/json',
      'schema',
    ];
    const post = async (body: string, authorization = `Bearer ${GATEWAY_TOKEN}`) => {
      const res = await fetch(`${server.url}/v1/leaks`, {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/json' },
        body,
      });
      return { status: res.status, json: (await res.json()) as unknown };
    };
    const { token } = await createTestKey(services, { alertChannel: null, maintainers: [] });
    const found = JSON.stringify([
      { token, type: 'rekey_api_key', url: 'https://github.com/acme/app/blob/abc/.env', source: 'commit' },
      { token: generateToken('rk_live').token, url: 'https://github.com/acme/app', source: 'commit' },
    ]);
    const labelled = await post(found);
    expect(labelled).toEqual({
      status: 200,
      json: [{ label: 'true_positive' }, { label: 'false_positive' }],
    });
    expect(check(at('200'), labelled.json)).toEqual([]);
    expect(check(at('200'), [{ label: 'maybe' }])).not.toEqual([]);
    const bad = await post('{"token": "x"}');
    expect(bad.status).toBe(400);
    expect(check(at('400'), bad.json)).toEqual([]);
    const unauthorised = await post(found, 'Bearer wrong');
    expect(unauthorised.status).toBe(401);
    expect(check(at('401'), unauthorised.json)).toEqual([]);
  });

  it('matches the real answers of /healthz and /readyz', async () => {
    const check = schemaChecker(served);
    const health = await (await fetch(`${server.url}/healthz`)).json();
    expect(
      check(
        ['paths', '/healthz', 'get', 'responses', '200', 'content', 'application/json', 'schema'],
        health,
      ),
    ).toEqual([]);
    const ready = await (await fetch(`${server.url}/readyz`)).json();
    expect(check(['components', 'schemas', 'Readiness'], ready)).toEqual([]);
  });
});
