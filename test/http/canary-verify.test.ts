import { createHash } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canaryTries } from '../../db/schema/index.ts';
import { generateToken } from '../../src/keys/token.ts';
import { KeyChanges } from '../../src/services/key-changes.ts';
import { manualClock } from '../support/manual-clock.ts';
import { openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { cliActor, testServices, uniqueName } from '../support/test-services.ts';
import { askAuthorize, GATEWAY_TOKEN, startAuthorizeServer } from './authorize-server.ts';

let database: TestDatabase;
let changes: KeyChanges;
let services: ReturnType<typeof testServices>;
let server: Awaited<ReturnType<typeof startAuthorizeServer>>;
const clock = manualClock('2026-05-04T08:00:00.000Z');
beforeAll(async () => {
  database = await openTestDatabase();
  changes = new KeyChanges();
  services = testServices(database, { clock, changes });
  server = await startAuthorizeServer({ database, changes, clock });
});
afterAll(async () => {
  await server?.close();
  await database?.close();
});

async function plantCanary(by = services) {
  const { key, token } = await by.createKey({
    name: uniqueName('decoy'),
    alertChannel: 'CSEC',
    maintainers: ['USEC1'],
    canary: true,
    actor: cliActor,
  });
  return { id: key.id, token };
}

const neverIssued = () => generateToken('rk_live').token;

/** Everything an answer shows a client, except the time it was sent. */
async function seen(res: Response) {
  const headers = Object.fromEntries([...res.headers].filter(([name]) => name !== 'date'));
  return { status: res.status, headers, body: await res.text() };
}

const verify = (key: string) =>
  fetch(`${server.url}/v1/keys/verify`, {
    method: 'POST',
    headers: { authorization: `Bearer ${GATEWAY_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ key }),
  });

const authorize = (key: string, headers: Record<string, string> = {}) =>
  fetch(`${server.url}/v1/keys/authorize`, {
    headers: { 'x-rekey-gateway-token': GATEWAY_TOKEN, 'x-api-key': key, ...headers },
  });

async function triesOf(keyId: string) {
  await server.path.canaries.tries.flush();
  return database.db.select().from(canaryTries).where(eq(canaryTries.keyId, keyId));
}

describe('a canary is answered exactly like a key rekey never issued', () => {
  it('verify: 200 NOT_FOUND, the same body and headers byte for byte', async () => {
    const canary = await plantCanary();
    const asCanary = await seen(await verify(canary.token));
    const asUnknown = await seen(await verify(neverIssued()));
    expect(asCanary.body).toBe('{"valid":false,"code":"NOT_FOUND"}');
    expect(asCanary).toEqual(asUnknown);
  });

  it('authorize: 401 NOT_FOUND, the same body and headers byte for byte', async () => {
    const canary = await plantCanary();
    const asCanary = await seen(await authorize(canary.token));
    const asUnknown = await seen(await authorize(neverIssued()));
    expect(asCanary).toMatchObject({ status: 401, headers: { 'x-rekey-code': 'NOT_FOUND' } });
    expect(asCanary).toEqual(asUnknown);
  });

  it('costs what a key never issued costs: the same lookups, however often it is presented', async () => {
    const canary = await plantCanary();
    const unknown = neverIssued();
    const misses = async () => (await server.metrics.cacheMisses.get()).values[0]?.value ?? 0;
    const lookupsOf = async (token: string) => {
      const before = await misses();
      for (let i = 0; i < 5; i++) await verify(token);
      return (await misses()) - before;
    };
    const canaryLookups = await lookupsOf(canary.token);
    expect(canaryLookups).toBe(await lookupsOf(unknown));
    // Looked up at most once, then answered from the cache like any unknown key (never from the
    // database each time, which would be the one slow NOT_FOUND).
    expect(canaryLookups).toBeLessThanOrEqual(1);
    // Every presentation is a try, looked up or not (in one row, or several when the recorder wrote
    // between them: it writes at most every 250 ms).
    const tries = await triesOf(canary.id);
    expect(tries.reduce((sum, t) => sum + t.count, 0)).toBe(5);
  });
});

describe('every presentation of a canary is recorded for its alarm', () => {
  it('authorize: when, the client address, user agent, original URI and method, and which gateway token asked', async () => {
    const canary = await plantCanary();
    clock.set('2026-05-04T08:10:00.000Z');
    const answer = await askAuthorize(server.url, {
      'x-api-key': canary.token,
      'x-forwarded-for': '203.0.113.7, 10.0.0.2',
      'user-agent': 'curl/8.5.0',
      'x-original-uri': '/admin/export?all=1',
      'x-original-method': 'post',
    });
    expect(answer.status).toBe(401);
    const fingerprint = createHash('sha256').update(GATEWAY_TOKEN).digest('hex').slice(0, 8);
    const tries = await triesOf(canary.id);
    expect(tries).toMatchObject([
      {
        via: 'authorize',
        triedAt: new Date('2026-05-04T08:10:00.000Z'),
        clientIp: '203.0.113.7',
        userAgent: 'curl/8.5.0',
        uri: '/admin/export?all=1',
        method: 'POST',
        askedBy: `#1 (${fingerprint})`,
        count: 1,
        alarmId: null,
      },
    ]);
    // Neither the gateway's token nor the key string is written anywhere.
    expect(JSON.stringify(tries)).not.toContain(GATEWAY_TOKEN);
    expect(JSON.stringify(tries)).not.toContain(canary.token);
  });

  it('keeps no key string the intruder put in the request URI or user agent, not even the canary itself', async () => {
    const canary = await plantCanary();
    const other = neverIssued();
    await askAuthorize(server.url, {
      'x-api-key': canary.token,
      'user-agent': `curl/8.5.0 (${other})`,
      'x-original-uri': `/export?api_key=${canary.token}&next=1`,
    });
    const tries = await triesOf(canary.id);
    expect(tries).toMatchObject([{ userAgent: 'curl/8.5.0 ([key])', uri: '/export?api_key=[key]&next=1' }]);
    expect(JSON.stringify(tries)).not.toMatch(/_[0-9A-Za-z]{38}/);
  });

  it('verify: the API token that asked, and X-Real-IP when the caller passes its client on', async () => {
    const canary = await plantCanary();
    await fetch(`${server.url}/v1/keys/verify`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${GATEWAY_TOKEN}`,
        'content-type': 'application/json',
        'x-real-ip': '2001:db8::5',
      },
      body: JSON.stringify({ key: canary.token }),
    });
    expect(await triesOf(canary.id)).toMatchObject([
      {
        via: 'verify',
        clientIp: '2001:db8::5',
        uri: null,
        method: null,
        askedBy: expect.stringMatching(/^#1 \(/),
      },
    ]);
  });

  it("verify: the client the caller names in the body's client field, over its own headers", async () => {
    const canary = await plantCanary();
    const answer = await fetch(`${server.url}/v1/keys/verify`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${GATEWAY_TOKEN}`,
        'content-type': 'application/json',
        'x-real-ip': '2001:db8::5',
        'user-agent': 'checkout-service/3',
      },
      body: JSON.stringify({ key: canary.token, client: { ip: '198.51.100.23', userAgent: 'intruder/2.0' } }),
    });
    expect(await answer.json()).toEqual({ valid: false, code: 'NOT_FOUND' });
    expect(await triesOf(canary.id)).toMatchObject([
      { via: 'verify', clientIp: '198.51.100.23', userAgent: 'intruder/2.0' },
    ]);
  });

  it('ten presentations at once are ten tries, and ten on rekey_canary_tries_total', async () => {
    const canary = await plantCanary();
    const counted = async () => (await server.metrics.canaryTries.get()).values[0]?.value ?? 0;
    const before = await counted();
    const answers = await Promise.all(Array.from({ length: 10 }, () => verify(canary.token)));
    expect((await counted()) - before).toBe(10);
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
    const tries = await triesOf(canary.id);
    // One asker (same token, no client passed on): rows that count them, not one per request.
    expect(tries.reduce((n, t) => n + t.count, 0)).toBe(10);
    expect(tries.length).toBeLessThanOrEqual(2);
  });

  it('a canary created elsewhere (another replica, the CLI) is caught once the database announces it, even if its string was answered as unknown just before', async () => {
    // Services of their own: this replica hears of the new canary only through the database's NOTIFY.
    const elsewhere = testServices(database, { clock, changes: new KeyChanges() });
    const canary = await plantCanary(elsewhere);
    const deadline = Date.now() + 5_000;
    let tries = await triesOf(canary.id);
    while (tries.length === 0 && Date.now() < deadline) {
      expect(await (await verify(canary.token)).json()).toEqual({ valid: false, code: 'NOT_FOUND' });
      tries = await triesOf(canary.id);
    }
    expect(tries.length).toBeGreaterThan(0);
  });
});

describe('a canary reported as leaked', () => {
  it('is answered as an unknown key (no thread reply, false_positive) and recorded once per message or URL, with where it was seen', async () => {
    const canary = await plantCanary();
    const message = {
      kind: 'slack_message' as const,
      channel: 'CGENERAL',
      messageTs: '1714800000.000100',
      postedBy: 'UOSCAR',
    };
    const scanner = {
      kind: 'scanner' as const,
      source: 'github',
      url: 'https://github.com/acme/shop/blob/1f2e3d/.env',
    };
    expect(await services.reportLeak({ token: canary.token, place: message })).toEqual({ status: 'unknown' });
    // Slack delivers the event again; the message is edited: still one try for that message.
    expect(await services.reportLeak({ token: canary.token, place: message })).toEqual({ status: 'unknown' });
    expect(await services.reportLeak({ token: canary.token, place: scanner })).toEqual({ status: 'unknown' });
    const tries = await triesOf(canary.id);
    expect(tries).toHaveLength(2);
    expect(tries).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ via: 'slack_message', place: message }),
        expect.objectContaining({ via: 'scanner', place: scanner }),
      ]),
    );
    expect((await services.keyAudit({ id: canary.id })).events.map((e) => e.action)).toEqual(['create']);
  });
});
