import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Clock, systemClock } from './clock.ts';
import type { Config, Role } from './config.ts';
import { startHealthMonitor } from './health-monitor.ts';
import { createAuthorizeRoute } from './http/authorize-route.ts';
import { createAskerDescriber } from './http/canary-asker.ts';
import { createLeaksRoute } from './http/leaks-route.ts';
import { roleServes } from './http/routes.ts';
import { createHttpServer } from './http/server.ts';
import { createVerifyRoute } from './http/verify-route.ts';
import { LOCAL_ADMINS } from './local/demo-workspace.ts';
import { localModeRefusal } from './local/local-mode-folder.ts';
import type { Logger } from './logger.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import type { SlackPoster } from './scheduler/index.ts';
import { KeyChanges } from './services/key-changes.ts';
import { createServices, type Services } from './services/services.ts';
import { UsageCounter } from './services/usage-counter.ts';
import { startUsageFlusher } from './services/usage-flusher.ts';
import type { SlackSurface } from './slack/start-slack.ts';
import type { Database } from './store/database.ts';
import { openHealthProbe } from './store/health-probe.ts';
import { openDatabase } from './store/open-database.ts';
import { startVerifyPath, type VerifyPath } from './verify-wiring.ts';

export interface Rekey {
  config: Config;
  database: Database;
  services: Services;
  metrics: Metrics;
  /** Counts each verification of a known secret in memory; flushed every REKEY_USAGE_FLUSH and on close. */
  usage: UsageCounter;
  server: Server;
  /** The bound port (PORT=0 picks a free one). */
  port: number;
  /** The page that plays Slack is served (no Slack credentials, embedded database). */
  localMode: boolean;
  /** Why local mode did not start although there are no Slack credentials (not its own data folder). */
  localModeRefused?: string;
  url: string;
  /** Stops accepting, lets in-flight requests finish, then closes the database. */
  close(): Promise<void>;
}

export interface StartOptions {
  clock?: Clock;
  logger: Logger;
  /** Use this database instead of opening one from the config (tests). */
  database?: Database;
  /**
   * Scheduler: the Slack client it posts reminders with. Default: a Web API client from the config in
   * HTTP/Socket mode; none in local mode (the scheduler then does not run until one is supplied).
   */
  slackClient?: SlackPoster;
  host?: string;
  /**
   * Local mode (no Slack credentials): the page at / that plays Slack, driving the real bot through
   * an in-process fake. Default: on exactly when the config has no Slack credentials.
   */
  localMode?: boolean;
  /** Counts verifications in memory until each flush (default: a new UsageCounter). */
  usage?: UsageCounter;
}

/**
 * What each REKEY_ROLE starts (README: "Operate rekey in production"). Split roles keep the gateways'
 * path apart from Slack: a Slack or scheduler failure cannot take verification down, and a verify
 * replica never loads Bolt, the scheduler or the embedded database's modules (they are imported below
 * only where they run), which keeps it small.
 *
 * | part                                           | all | verify | bot |
 * | ---------------------------------------------- | --- | ------ | --- |
 * | /healthz, /readyz, /metrics                    |  x  |   x    |  x  |
 * | verify cache + LISTEN, verify, authorize       |  x  |   x    |     |
 * | usage counting and its flusher, /openapi.json  |  x  |   x    |     |
 * | Slack (HTTP or Socket Mode), /v1/leaks         |  x  |        |  x  |
 * | scheduler (notices, digest, usage retention)   |  x  |        |  x  |
 * | local mode's page (embedded database only)     |  x  |        |     |
 */
export function roleRuns(role: Role): { verify: boolean; bot: boolean } {
  return { verify: role !== 'bot', bot: role !== 'verify' };
}

/** Wiring only: config → database → services → HTTP. Each surface registers itself here. */
export async function startRekey(config: Config, options: StartOptions): Promise<Rekey> {
  const { logger } = options;
  const clock = options.clock ?? systemClock;
  const role = config.REKEY_ROLE;
  const runs = roleRuns(role);
  // Only on the embedded database (so only as `all`: split roles need PostgreSQL): the page lets anyone
  // on this machine act as a demo admin, and the scheduler would deliver real reminders to the fake.
  // Without Slack credentials but with DATABASE_URL, rekey serves the verify API only.
  const wantsLocalMode = options.localMode ?? (config.slackMode === 'local' && !config.DATABASE_URL);
  const database = options.database ?? (await openDatabase(config));
  // …and only on a folder local mode created itself, never on an install's real keys.
  const localModeRefused =
    wantsLocalMode && !options.database
      ? await localModeRefusal(config.REKEY_DATA_DIR, database, clock)
      : undefined;
  const localMode = runs.bot && wantsLocalMode && localModeRefused === undefined;
  const metrics = createMetrics({ defaults: true });
  /** What each surface registers to be stopped on shutdown, before the database closes. */
  const stoppers: Array<() => Promise<void> | void> = [];
  const changes = new KeyChanges((error, change) =>
    logger.error({ err: error, keyId: change.keyId, change: change.type }, 'a key-change listener failed'),
  );
  const usage = options.usage ?? new UsageCounter();

  // --- verify role: the gateways' path ---
  let verifyPath: VerifyPath | undefined;
  if (runs.verify) {
    // Usage counting: in memory on the verify path, written every REKEY_USAGE_FLUSH. Registered first
    // so it stops last: its final flush comes after every other surface stopped, right before the
    // database closes.
    const usageFlusher = startUsageFlusher({
      counter: usage,
      db: database.db,
      intervalMs: config.REKEY_USAGE_FLUSH,
      logger,
      onFailingChange: (failing) => metrics.usageFlushFailing.set(failing ? 1 : 0),
    });
    stoppers.push(() => usageFlusher.stop());
    // Cached verdicts, invalidated locally at once and across replicas by NOTIFY.
    verifyPath = await startVerifyPath({
      config,
      database,
      changes,
      clock,
      metrics,
      logger,
      usage,
      describeAsker: createAskerDescriber(config.REKEY_API_TOKENS),
    });
    const started = verifyPath;
    stoppers.push(() => started.stop());
  }
  // --- end verify role ---

  const services = createServices({
    db: database.db,
    clock,
    changes,
    keyPrefix: config.REKEY_KEY_PREFIX,
    admins: localMode ? [...config.REKEY_ADMINS, ...LOCAL_ADMINS] : config.REKEY_ADMINS,
    verifyCache: verifyPath?.cache,
  });

  // /readyz answers from memory; the database is asked once a second, on a connection of its own.
  const probe = openHealthProbe(database);
  const health = await startHealthMonitor({
    check: probe.check,
    onChange: (ready, reason) => {
      metrics.ready.set(ready ? 1 : 0);
      if (ready) logger.info('ready again: the database answers and its migrations are applied');
      else logger.warn({ err: reason }, 'not ready: /readyz answers 503 until the database answers again');
    },
  });
  metrics.ready.set(health.ready() ? 1 : 0);
  stoppers.push(async () => {
    health.stop();
    await probe.close();
  });

  // --- bot role: Bolt's listener on /slack/events (HTTP mode) or Socket Mode; ---
  // --- local mode: the same Bolt app against an in-process fake, plus the page at / ---
  let selfUrl = '';
  const local = localMode
    ? await (await import('./local/start-local-mode.ts')).startLocalMode({
        services,
        logger,
        metrics,
        selfUrl: () => selfUrl,
      })
    : undefined;
  if (local) stoppers.push(() => local.stop());
  let slack: SlackSurface | undefined = local?.slack;
  if (!slack && runs.bot && config.slackMode !== 'local') {
    const { slackOptionsFromConfig, startSlack } = await import('./slack/start-slack.ts');
    slack = await startSlack(slackOptionsFromConfig(config, { services, logger, metrics }));
    const started = slack;
    stoppers.push(() => started.stop());
  }
  // --- end bot role ---

  const server = createHttpServer({
    logger,
    metrics,
    // A route this role does not serve is left out of the table: 404, as if it did not exist.
    serves: (route) => roleServes(role, route),
    slack: slack?.handler,
    pages: local?.routes,
    verify:
      verifyPath &&
      createVerifyRoute({
        verify: verifyPath.cache.verify,
        verifyNow: verifyPath.cache.verifyNow,
        apiTokens: config.REKEY_API_TOKENS,
        metrics,
        logger,
      }),
    ready: health.ready,
    leaks: runs.bot
      ? createLeaksRoute({
          reportLeaks: services.reportLeaks,
          scannerTokens: config.REKEY_SCANNER_TOKENS,
          logger,
          metrics,
        })
      : undefined,
    authorize:
      verifyPath &&
      createAuthorizeRoute({
        verify: verifyPath.cache.verify,
        verifyNow: verifyPath.cache.verifyNow,
        apiTokens: config.REKEY_API_TOKENS,
        metrics,
        logger,
      }),
  });
  // Local mode's page lets whoever loads it act as any demo user: it listens on loopback only.
  const host = options.host ?? (localMode ? '127.0.0.1' : '0.0.0.0');
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.PORT, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  selfUrl = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;

  // Scheduled jobs (src/scheduler/index.ts), bot role: reminders and expiry alerts, rotation-policy
  // notices, usage retention. Started once the server is up.
  if (runs.bot) {
    const { startScheduledJobs } = await import('./scheduler/index.ts');
    const jobs = startScheduledJobs({
      config,
      db: database.db,
      database,
      clock,
      logger,
      metrics,
      // The surface's notice client, not its interactive one: a rate-limited burst of notices must not
      // hold up the views.open a /rotate-key has to make within Slack's 3 s.
      slackClient: options.slackClient ?? slack?.noticeClient,
      // The Slack surface's own notices: the leak outbox (thread replies, DMs, alerts).
      sources: slack ? [slack.leakAlerts.source] : [],
    });
    stoppers.push(() => jobs.stop());
  }

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      await stopServer(server, 8_000);
      // Surfaces stop in reverse order of start (scheduler, Slack, cache listeners…), database last.
      for (const stop of stoppers.reverse()) {
        try {
          await stop();
        } catch (error) {
          logger.error({ err: error }, 'a component failed to stop cleanly');
        }
      }
      if (!options.database) await database.close();
    })();
    return closing;
  };

  return {
    config,
    database,
    services,
    metrics,
    usage,
    server,
    port,
    localMode,
    localModeRefused,
    url: selfUrl,
    close,
  };
}

/**
 * Stops accepting, lets in-flight requests finish, and closes keep-alive connections as they go idle
 * (a gateway's pooled connection would otherwise hold shutdown for the whole keep-alive timeout).
 * Whatever is still open at `deadlineMs` is cut, so shutdown stays within its budget.
 */
function stopServer(server: Server, deadlineMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const sweep = setInterval(() => server.closeIdleConnections(), 50);
    const deadline = setTimeout(() => server.closeAllConnections(), deadlineMs);
    server.close(() => {
      clearInterval(sweep);
      clearTimeout(deadline);
      resolve();
    });
    server.closeIdleConnections();
  });
}
