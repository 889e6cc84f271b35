import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Clock, systemClock } from './clock.ts';
import type { Config } from './config.ts';
import { startHealthMonitor } from './health-monitor.ts';
import { createAuthorizeRoute } from './http/authorize-route.ts';
import { createLeaksRoute } from './http/leaks-route.ts';
import { createHttpServer } from './http/server.ts';
import { createVerifyRoute } from './http/verify-route.ts';
import { LOCAL_ADMINS } from './local/demo-workspace.ts';
import { localModeRefusal } from './local/local-mode-folder.ts';
import { startLocalMode } from './local/start-local-mode.ts';
import type { Logger } from './logger.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { type SlackPoster, startScheduledJobs } from './scheduler/index.ts';
import { KeyChanges } from './services/key-changes.ts';
import { createServices, type Services } from './services/services.ts';
import { UsageCounter } from './services/usage-counter.ts';
import { startUsageFlusher } from './services/usage-flusher.ts';
import { slackOptionsFromConfig, startSlack } from './slack/start-slack.ts';
import type { Database } from './store/database.ts';
import { openHealthProbe } from './store/health-probe.ts';
import { openDatabase } from './store/open-database.ts';
import { startVerifyPath } from './verify-wiring.ts';

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

/** Wiring only: config → database → services → HTTP. Each surface registers itself here. */
export async function startRekey(config: Config, options: StartOptions): Promise<Rekey> {
  const { logger } = options;
  const clock = options.clock ?? systemClock;
  // Only on the embedded database: the page lets anyone on this machine act as a demo admin, and the
  // scheduler would deliver real reminders to the fake. Without Slack credentials but with
  // DATABASE_URL, rekey serves the verify API only.
  const wantsLocalMode = options.localMode ?? (config.slackMode === 'local' && !config.DATABASE_URL);
  const database = options.database ?? (await openDatabase(config));
  // …and only on a folder local mode created itself, never on an install's real keys.
  const localModeRefused =
    wantsLocalMode && !options.database
      ? await localModeRefusal(config.REKEY_DATA_DIR, database, clock)
      : undefined;
  const localMode = wantsLocalMode && localModeRefused === undefined;
  const metrics = createMetrics({ defaults: true });
  /** What each surface registers to be stopped on shutdown, before the database closes. */
  const stoppers: Array<() => Promise<void> | void> = [];
  const changes = new KeyChanges((error, change) =>
    logger.error({ err: error, keyId: change.keyId, change: change.type }, 'a key-change listener failed'),
  );
  // Usage counting: in memory on the verify path, written every REKEY_USAGE_FLUSH. Registered first so
  // it stops last: its final flush comes after every other surface stopped, right before the database closes.
  const usage = options.usage ?? new UsageCounter();
  const usageFlusher = startUsageFlusher({
    counter: usage,
    db: database.db,
    intervalMs: config.REKEY_USAGE_FLUSH,
    logger,
  });
  stoppers.push(() => usageFlusher.stop());
  // The gateways' path: cached verdicts, invalidated locally at once and across replicas by NOTIFY.
  const verifyPath = await startVerifyPath({ config, database, changes, clock, metrics, logger, usage });
  stoppers.push(() => verifyPath.stop());
  const services = createServices({
    db: database.db,
    clock,
    changes,
    keyPrefix: config.REKEY_KEY_PREFIX,
    admins: localMode ? [...config.REKEY_ADMINS, ...LOCAL_ADMINS] : config.REKEY_ADMINS,
    verifyCache: verifyPath.cache,
  });

  // /readyz answers from memory; the database is asked once a second, on a connection of its own.
  const probe = openHealthProbe(database);
  const health = await startHealthMonitor({
    check: probe.check,
    onChange: (ready, reason) =>
      ready
        ? logger.info('ready again: the database answers and its migrations are applied')
        : logger.warn({ err: reason }, 'not ready: /readyz answers 503 until the database answers again'),
  });
  stoppers.push(async () => {
    health.stop();
    await probe.close();
  });

  // --- Slack: Bolt's listener on /slack/events (HTTP mode) or Socket Mode; ---
  // --- local mode: the same Bolt app against an in-process fake, plus the page at / ---
  let selfUrl = '';
  const local = localMode
    ? await startLocalMode({ services, logger, metrics, selfUrl: () => selfUrl })
    : undefined;
  if (local) stoppers.push(() => local.stop());
  const slack =
    local?.slack ??
    (config.slackMode === 'local'
      ? undefined
      : await startSlack(slackOptionsFromConfig(config, { services, logger, metrics })));
  if (slack && !local) stoppers.push(() => slack.stop());
  // --- end Slack ---

  const server = createHttpServer({
    logger,
    metrics,
    slack: slack?.handler,
    extra: local?.routes,
    verify: createVerifyRoute({
      verify: verifyPath.cache.verify,
      verifyNow: verifyPath.cache.verifyNow,
      apiTokens: config.REKEY_API_TOKENS,
      metrics,
      logger,
    }),
    ready: health.ready,
    leaks: createLeaksRoute({
      reportLeak: services.reportLeak,
      apiTokens: config.REKEY_API_TOKENS,
      logger,
    }),
    authorize: createAuthorizeRoute({
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

  // Scheduled jobs (src/scheduler/index.ts): reminders and expiry alerts, usage retention. Started once
  // the server is up.
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
  });
  stoppers.push(() => jobs.stop());

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
