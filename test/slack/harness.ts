import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { sendJson } from '../../src/http/respond.ts';
import { createHttpServer } from '../../src/http/server.ts';
import { TOKEN_LIKE } from '../../src/keys/token.ts';
import { createMetrics } from '../../src/metrics.ts';
import { KeyChanges } from '../../src/services/key-changes.ts';
import type { Services } from '../../src/services/services.ts';
import { type SlackSurface, startSlack } from '../../src/slack/start-slack.ts';
import type { Db } from '../../src/store/database.ts';
import { type FakeSlack, SlackChannel, SlackUser, startFakeSlack } from '../fake-slack/index.ts';
import type { ManualClock } from '../support/manual-clock.ts';
import type { TestDatabase } from '../support/test-database.ts';
import { testServices } from '../support/test-services.ts';

export const SIGNING_SECRET = 'test-signing-secret-0123456789abcdef';
export const BOT_TOKEN = 'xoxb-test-token';

/**
 * A database handle that can be made to fail every query, by default like a server that went away
 * (or with `error`, like any other driver failure).
 */
export function failableDb(
  db: Db,
  error: Error = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
): { db: Db; fail(on: boolean): void } {
  let failing = false;
  const proxy = new Proxy(db, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (!failing || typeof value !== 'function') return value;
      return () => {
        throw error;
      };
    },
  });
  return { db: proxy, fail: (on) => (failing = on) };
}

export interface SlackHarness {
  fake: FakeSlack;
  services: Services & { clock: ManualClock };
  slack: SlackSurface;
  /** The registry rekey's Slack surface counts in. */
  metrics: ReturnType<typeof createMetrics>;
  url: string;
  /** Every log line rekey wrote, raw (before the production logger's scrubbing). */
  logs: string[];
  user(id: string): SlackUser;
  /** A channel rekey is a member of, where people post messages (delivered as signed events). */
  channel(id: string, type?: 'channel' | 'group'): SlackChannel;
  failDatabase(on: boolean): void;
  /**
   * Resolves once everything rekey was asked so far has finished, work after the acknowledgement
   * included (DMs, channel notices, App Home publishes): what a test waits for before asserting that
   * something did not happen.
   */
  idle(): Promise<void>;
  close(): Promise<void>;
}

/**
 * rekey's Slack surface on our own HTTP server (the real HTTPReceiver, signature checks on), its
 * services on a test database, and the fake Slack as the Web API.
 */
export async function startSlackHarness(
  database: TestDatabase,
  options: {
    retries?: number;
    admins?: string[];
    /** The handle rekey's services query through, instead of the test database's own (e.g. one that counts). */
    db?: Db;
  } = {},
): Promise<SlackHarness> {
  const fake = await startFakeSlack({ botToken: BOT_TOKEN });
  const logs: string[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => logs.push(line) });
  const failable = failableDb(options.db ?? database.db);
  // A key-change listener that fails must not fail the Slack request under test.
  const services = testServices(database, {
    db: failable.db,
    changes: new KeyChanges(),
    admins: options.admins,
  });
  const metrics = createMetrics();
  const slack = await startSlack({
    services,
    logger,
    metrics,
    botToken: BOT_TOKEN,
    signingSecret: SIGNING_SECRET,
    slackApiUrl: fake.apiUrl,
    retries: options.retries ?? 0,
    // No scheduler here: a report committed in this process is delivered at once by the Slack surface
    // itself, or when a test calls slack.leakAlerts.sweep() (no timer adds statements to counted tests).
  });
  const server: Server = createHttpServer({
    logger,
    metrics,
    verify: (_req, res) => sendJson(res, 404, {}),
    ready: async () => true,
    slack: slack.handler,
  });
  // Bolt answers Slack on ack() and runs the rest of a listener afterwards; processEvent settles when
  // every listener has returned, so tracking it tells when rekey has nothing left to do.
  const inFlight = new Set<Promise<unknown>>();
  const processEvent = slack.app.processEvent.bind(slack.app);
  slack.app.processEvent = (event) => {
    const work = processEvent(event);
    const tracked = work.catch(() => {}).finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
    return work;
  };
  const idle = async () => {
    while (inFlight.size > 0) await Promise.all(inFlight);
    await Promise.all([slack.home.settled(), slack.leakAlerts.settled()]);
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    fake,
    services,
    slack,
    metrics,
    url,
    logs,
    user: (id) => new SlackUser({ fake, rekeyUrl: url, signingSecret: SIGNING_SECRET }, id),
    channel: (id, type) => new SlackChannel({ fake, rekeyUrl: url, signingSecret: SIGNING_SECRET }, id, type),
    failDatabase: failable.fail,
    idle,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await slack.stop();
      await fake.close();
    },
  };
}

/** A fixed pause; prefer `harness.idle()`, which waits exactly until rekey's work is done. */
export async function settle(ms = 150): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

/** How many times a key has been rotated, from its audit trail. */
export async function rotationsOf(services: Services, keyId: string): Promise<number> {
  const audit = await services.keyAudit({ id: keyId });
  return audit.events.filter((e) => e.action === 'rotate').length;
}

/** Anything shaped like a key string (TOKEN_LIKE without its global flag, so tests are stateless). */
export const KEY_STRING = new RegExp(TOKEN_LIKE.source);
