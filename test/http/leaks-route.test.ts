import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLeaksRoute, MAX_FINDINGS } from '../../src/http/leaks-route.ts';
import { sendJson } from '../../src/http/respond.ts';
import { createHttpServer } from '../../src/http/server.ts';
import { generateToken } from '../../src/keys/token.ts';
import { createMetrics } from '../../src/metrics.ts';
import { ids } from '../../src/slack/ids.ts';
import { listAuditEvents } from '../../src/store/audit-store.ts';
import { messageText } from '../fake-slack/index.ts';
import { type SlackHarness, startSlackHarness } from '../slack/harness.ts';
import { cardText, HomeUser } from '../slack/home-driver.ts';
import { createTestKey, rotateTestKey, typoOf } from '../support/fixtures.ts';
import { readAllTables, tablesText } from '../support/tables-text.ts';
import { openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { cliActor } from '../support/test-services.ts';
import { GATEWAY_TOKEN } from './authorize-server.ts';

let database: TestDatabase;
let h: SlackHarness;
let server: Server;
let url: string;
const logs: string[] = [];
const metrics = createMetrics();
const leakReportsCounted = async () =>
  (await metrics.registry.getSingleMetric('rekey_leak_reports_total')!.get()).values[0]?.value ?? 0;
beforeAll(async () => {
  database = await openTestDatabase();
  // rekey's Slack surface on the same services: what the route reports reaches people through it.
  h = await startSlackHarness(database);
  const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(line) });
  server = createHttpServer({
    logger,
    metrics,
    verify: (_req, res) => sendJson(res, 404, {}),
    ready: () => true,
    leaks: createLeaksRoute({
      reportLeaks: h.services.reportLeaks,
      scannerTokens: [SCANNER_TOKEN],
      logger,
      metrics,
    }),
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/leaks`;
});
afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await h?.close();
  await database?.close();
});

const ALERTS = 'CALERTS';
/** One of REKEY_SCANNER_TOKENS: the only tokens POST /v1/leaks accepts. */
const SCANNER_TOKEN = 'scanner-token-0123456789abcdefghijklmnop';
const COMMIT = 'https://github.com/acme/shop/blob/1f2e3d/config/.env';

async function report(body: unknown, authorization = `Bearer ${SCANNER_TOKEN}`) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { authorization, 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as unknown) : undefined };
}

const finding = (token: string, where = COMMIT) => ({
  token,
  type: 'rekey_api_key',
  url: where,
  source: 'commit',
});

function postsTo(channel: string, from: number) {
  return h.fake.calls
    .slice(from)
    .filter((c) => c.method === 'chat.postMessage' && c.params.channel === channel && c.outcome === 'ok');
}

async function leakAudits(keyId: string) {
  return (await listAuditEvents(database.db, keyId)).filter((e) => e.action === 'leak_reported');
}

describe('POST /v1/leaks', () => {
  it('labels each finding in order: keys rekey issued are true positives, anything else false', async () => {
    const live = await createTestKey(h.services, { maintainers: ['UADA'], alertChannel: ALERTS });
    const expired = await createTestKey(h.services, { maintainers: ['UADA'], alertChannel: ALERTS });
    await rotateTestKey(h.services, { id: expired.key.id }, 'now');
    const deleted = await createTestKey(h.services);
    await h.services.deleteKey({ key: { id: deleted.key.id }, actor: cliActor });

    const answer = await report([
      finding(live.token),
      finding(typoOf(live.token)),
      finding(generateToken('rk_live').token),
      finding(expired.token),
      finding(deleted.token),
      finding('not a key at all'),
    ]);
    expect(answer).toEqual({
      status: 200,
      json: [
        { label: 'true_positive' },
        { label: 'false_positive' },
        { label: 'false_positive' },
        { label: 'true_positive' },
        { label: 'false_positive' },
        { label: 'false_positive' },
      ],
    });
    expect(await report([])).toEqual({ status: 200, json: [] });
  });

  it('tells a working key’s maintainers and alert channel where it was found, audits it and marks its card — once per key and URL', async () => {
    const { key, token } = await createTestKey(h.services, {
      maintainers: ['UADA', 'UGRACE'],
      alertChannel: ALERTS,
    });
    await h.idle();
    const from = h.fake.calls.length;
    const logsFrom = logs.length;
    const countedBefore = await leakReportsCounted();

    expect((await report([finding(token)])).json).toEqual([{ label: 'true_positive' }]);
    // What the RekeyLeakReported alert reads (deploy/prometheus/rekey-alerts.yml).
    expect(await leakReportsCounted()).toBe(countedBefore + 1);
    await h.idle();
    for (const channel of ['UADA', 'UGRACE', ALERTS]) {
      const posts = postsTo(channel, from);
      expect(posts, channel).toHaveLength(1);
      const text = messageText(posts[0]!);
      expect(text).toContain(key.name);
      expect(text).toContain(COMMIT);
      expect(text).toContain('scanner *commit*');
      expect(text).toContain(ids.leak.rotateNow);
    }
    expect(await leakAudits(key.id)).toMatchObject([
      { actor: 'scanner:commit', source: 'api', details: { url: COMMIT, foundBy: 'scanner:commit' } },
    ]);
    expect(cardText(await new HomeUser(h, 'UADA').openHome(), key.id)).toContain(
      `Reported leaked at ${COMMIT}`,
    );

    // The same finding again (a scanner retrying): labelled, but nobody is told twice.
    expect((await report([finding(token), finding(token)])).json).toEqual([
      { label: 'true_positive' },
      { label: 'true_positive' },
    ]);
    await h.idle();
    expect(postsTo('UADA', from)).toHaveLength(1);
    expect(await leakAudits(key.id)).toHaveLength(1);
    expect(await leakReportsCounted()).toBe(countedBefore + 1);

    // Found somewhere else: a new report, audited — and summed into the next round, not told at once.
    await report([finding(token, `${COMMIT}#L2`)]);
    await h.idle();
    expect(postsTo('UADA', from)).toHaveLength(1);
    expect(await leakAudits(key.id)).toHaveLength(2);

    for (const call of h.fake.calls.slice(from)) expect(JSON.stringify(call.params)).not.toContain(token);
    for (const line of [...logs.slice(logsFrom), ...h.logs]) expect(line).not.toContain(token);
    expect(await tablesText(database.db)).not.toContain(token);
  });

  it('labels an expired key a true positive and alerts nobody', async () => {
    const { key, token } = await createTestKey(h.services, { maintainers: ['UADA'], alertChannel: ALERTS });
    await rotateTestKey(h.services, { id: key.id }, 'now');
    await h.idle();
    const from = h.fake.calls.length;
    expect((await report([finding(token)])).json).toEqual([{ label: 'true_positive' }]);
    await h.idle();
    expect(h.fake.calls.slice(from).filter((c) => c.method === 'chat.postMessage')).toEqual([]);
    expect(await leakAudits(key.id)).toEqual([]);
  });

  it('answers 400 to any other body and changes nothing, even when it holds a working key', async () => {
    const { key, token } = await createTestKey(h.services, { maintainers: ['UADA'], alertChannel: ALERTS });
    await h.idle();
    const from = h.fake.calls.length;
    const bodies: unknown[] = [
      'not json',
      '',
      finding(token),
      { findings: [finding(token)] },
      [finding(token), { token, url: COMMIT }],
      [finding(token), { token, url: '', source: 'commit' }],
      [finding(token), { token: 42, url: COMMIT, source: 'commit' }],
      [finding(token), null],
      Array.from({ length: MAX_FINDINGS + 1 }, () => finding(token)),
    ];
    for (const body of bodies) {
      const answer = await report(body);
      expect(answer.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(answer.json).toMatchObject({ error: 'bad_request' });
    }
    await h.idle();
    expect(h.fake.calls.slice(from)).toEqual([]);
    expect(await leakAudits(key.id)).toEqual([]);
    const reports = (await readAllTables(database.db)).rows.get('leak_reports') as { key_id: string }[];
    expect(reports.filter((r) => r.key_id === key.id)).toEqual([]);
  });

  it('answers 401 without one of REKEY_SCANNER_TOKENS — a gateway’s API token included — and 405 to anything but POST', async () => {
    const { key, token } = await createTestKey(h.services);
    const refused = await report([finding(token)], `Bearer ${GATEWAY_TOKEN}`);
    expect(refused.status).toBe(401);
    expect(refused.json).toMatchObject({ message: expect.stringContaining('REKEY_SCANNER_TOKENS') });
    expect(await leakAudits(key.id)).toEqual([]);
    expect((await report([finding(token)], 'Bearer not-a-token-of-ours-0123456789abcdef')).status).toBe(401);
    expect((await report([finding(token)], '')).status).toBe(401);
    const get = await fetch(url);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
  });

  it('keeps no key string a scanner put in the URL it reports, in the tables or anything sent to Slack', async () => {
    const { key, token } = await createTestKey(h.services, { maintainers: ['UADA'], alertChannel: ALERTS });
    await h.idle();
    const from = h.fake.calls.length;
    const where = `https://paste.example/raw?text=${token}`;
    expect((await report([finding(token, where)])).json).toEqual([{ label: 'true_positive' }]);
    await h.idle();
    const [audit] = await leakAudits(key.id);
    expect(audit!.details).toMatchObject({ url: 'https://paste.example/raw?text=[key]' });
    expect(await tablesText(database.db)).not.toContain(token);
    expect(JSON.stringify(h.fake.calls.slice(from))).not.toContain(token);
    expect(postsTo(ALERTS, from).map(messageText).join('\n')).toContain(
      'https://paste.example/raw?text=[key]',
    );
  });

  it('tells people at most once per 10 minutes per key, summing later reports into the next round, and audits every one', async () => {
    const { key, token } = await createTestKey(h.services, {
      maintainers: ['UADA', 'UGRACE'],
      alertChannel: ALERTS,
    });
    await h.idle();
    const from = h.fake.calls.length;
    // 50 findings of one key at 50 URLs, within a minute (the clock does not move).
    for (let i = 0; i < 50; i++) {
      expect((await report([finding(token, `${COMMIT}#L${i}`)])).json).toEqual([{ label: 'true_positive' }]);
    }
    await h.idle();
    expect(await leakAudits(key.id)).toHaveLength(50);
    const about = (channel: string) =>
      postsTo(channel, from).filter((c) => messageText(c).includes(key.name));
    for (const channel of ['UADA', 'UGRACE', ALERTS]) expect(about(channel), channel).toHaveLength(1);

    // Ten minutes on: the next round tells the rest, once, as a sum.
    h.services.clock.advance(10 * 60_000);
    await h.slack.leakAlerts.sweep();
    await h.idle();
    for (const channel of ['UADA', 'UGRACE', ALERTS]) {
      const posts = about(channel);
      expect(posts, channel).toHaveLength(2);
      const [first, second] = posts.map(messageText);
      const more = (text: string) => {
        const n = /(\d+) more times/.exec(text);
        return n ? Number(n[1]) : text.includes('once more') ? 1 : 0;
      };
      expect(second).toContain('since the last alert');
      expect(second).toContain('the scanner *commit*');
      // Every report is in one of the two rounds: the first tells one (and any summed before it went out).
      expect(1 + more(first!) + more(second!)).toBe(50);
    }
    // Nothing else is owed: another sweep sends nothing.
    const before = h.fake.calls.length;
    await h.slack.leakAlerts.sweep();
    await h.idle();
    expect(h.fake.calls.slice(before).filter((c) => c.method === 'chat.postMessage')).toEqual([]);
  });
});
