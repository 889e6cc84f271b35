import type { IncomingMessage, ServerResponse } from 'node:http';
import { App, type Logger as BoltLogger, HTTPReceiver } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { Config } from '../config.ts';
import { AppError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import { createNoticeClient } from '../scheduler/notice-client.ts';
import { NOTICE_TIMING } from '../scheduler/notice-timing.ts';
import type { Services } from '../services/services.ts';
import { register as registerActions } from './actions/index.ts';
import { register as registerCommands } from './commands/index.ts';
import { createWebClient, slackLogger } from './create-web-client.ts';
import type { SlackDeps } from './deps.ts';
import { register as registerEvents } from './events/index.ts';
import { createHomePublisher, type HomePublisher } from './home-publisher.ts';
import { createLeakAlerts, type LeakAlerts } from './leak-alerts.ts';
import { describeSlackError } from './slack-errors.ts';
import { register as registerViews } from './views/index.ts';

export interface StartSlackOptions {
  services: Services;
  logger: Logger;
  metrics: Metrics;
  /** xoxb-… (or any token the fake accepts, in local mode). */
  botToken: string;
  signingSecret: string;
  /** xapp-…: Socket Mode instead of HTTP. */
  appToken?: string;
  /** Base URL of the Web API (a fake in tests and local mode). */
  slackApiUrl?: string;
  /** Web API retries on 429/5xx; tests use 0 so a failing fake cannot hang them. */
  retries?: number;
  /**
   * Who delivers the leak outbox: `scheduler` (a running rekey: the scheduler's `leak` source, which
   * app.ts registers) or `self` (default; tests with no scheduler: a report committed in this process
   * is delivered at once).
   */
  leakDelivery?: 'scheduler' | 'self';
  /** Known bot identity: skips the start-up auth.test. */
  bot?: { userId: string; botId: string };
}

export interface SlackSurface {
  mode: 'http' | 'socket';
  /** Bolt's request listener for POST /slack/events on our own server (HTTP mode). */
  handler?: (req: IncomingMessage, res: ServerResponse) => void;
  app: App;
  /** The Web API client of every interactive call (listeners, App Home). */
  client: WebClient;
  /** The scheduler's client: same token and URL, its own queue, so notices never delay a modal. */
  noticeClient: WebClient;
  bot: { userId: string; botId: string };
  /** App Home: `home.publish(userId)` shows a user their key cards (local mode calls it too). */
  home: HomePublisher;
  /** DMs and alert-channel notices about keys seen leaked (from Slack messages or POST /v1/leaks). */
  leakAlerts: LeakAlerts;
  stop(): Promise<void>;
}

/**
 * Builds the Bolt app with every listener. HTTP mode returns a request listener for our own server
 * (`app.init()`, never `app.start()`: one server on PORT); Socket Mode connects out to Slack.
 * Local mode calls this too, with the fake's URL and its own token and signing secret.
 */
export async function startSlack(options: StartSlackOptions): Promise<SlackSurface> {
  const { logger } = options;
  const client = createWebClient({
    token: options.botToken,
    slackApiUrl: options.slackApiUrl,
    logger,
    retries: options.retries,
  });
  const noticeClient = createNoticeClient({
    token: options.botToken,
    slackApiUrl: options.slackApiUrl,
    logger,
  });
  const bot = options.bot ?? (await identifyBot(client));
  const boltLogger = slackLogger(logger.child({ component: 'bolt' })) as BoltLogger;
  const clientOptions = {
    slackApiUrl: client.slackApiUrl,
    retryConfig: { retries: options.retries ?? 3 },
    rejectRateLimitedCalls: false,
  };
  const identity = {
    token: options.botToken,
    botId: bot.botId,
    botUserId: bot.userId,
    // Bolt's default conversation store is a middleware on every request that rekey never reads; the
    // leak watch receives every message of every channel it is in, so it is skipped.
    convoStore: false as const,
  };
  const base = { services: options.services, client, logger, metrics: options.metrics };
  const home = createHomePublisher(base);
  // The leak outbox's messages (thread replies, DMs, alert-channel notices) get a client of their own:
  // a burst that Slack rate-limits waits there and never holds up a views.open that has 3 s. Like the
  // scheduler's, every attempt is timed out and a 429 comes back to the sender, so a post never outlives
  // its claim (leak-outbox.ts).
  const leakAlerts = createLeakAlerts(
    {
      ...base,
      client: createNoticeClient({
        token: options.botToken,
        slackApiUrl: options.slackApiUrl,
        logger,
        timing: { ...NOTICE_TIMING, retries: options.retries ?? NOTICE_TIMING.retries },
      }),
    },
    { selfDelivered: options.leakDelivery !== 'scheduler' },
  );
  const deps: SlackDeps = { ...base, home };
  const stopHome = async () => {
    home.stop();
    await Promise.all([home.settled(), leakAlerts.stop()]);
  };

  if (options.appToken) {
    const app = new App({
      ...identity,
      appToken: options.appToken,
      socketMode: true,
      logger: boltLogger,
      clientOptions,
      tokenVerificationEnabled: false,
    });
    registerAll(app, deps);
    await app.start();
    return {
      mode: 'socket',
      app,
      client,
      noticeClient,
      bot,
      home,
      leakAlerts,
      stop: async () => {
        await app.stop();
        await stopHome();
      },
    };
  }

  const receiver = new HTTPReceiver({
    signingSecret: options.signingSecret,
    endpoints: '/slack/events',
    logger: boltLogger,
    // Answer Slack as soon as a listener acks; work after the ack must not hold the response.
    processBeforeResponse: false,
  });
  const app = new App({
    ...identity,
    receiver,
    logger: boltLogger,
    clientOptions,
    tokenVerificationEnabled: false,
    deferInitialization: true,
  });
  registerAll(app, deps);
  await app.init();
  return {
    mode: 'http',
    handler: receiver.requestListener,
    app,
    client,
    noticeClient,
    bot,
    home,
    leakAlerts,
    stop: stopHome,
  };
}

function registerAll(app: App, deps: SlackDeps): void {
  registerCommands(app, deps);
  registerViews(app, deps);
  registerActions(app, deps);
  registerEvents(app, deps);
  app.error(async (error) => {
    deps.logger.error({ err: error }, 'a Slack listener failed');
  });
}

/** One auth.test at start: a bad token stops the process with a clear message, not at first use. */
async function identifyBot(client: WebClient): Promise<{ userId: string; botId: string }> {
  try {
    const auth = await client.auth.test();
    if (!auth.user_id || !auth.bot_id) throw new Error('auth.test returned no bot identity');
    return { userId: auth.user_id, botId: auth.bot_id };
  } catch (error) {
    const { code } = describeSlackError(error);
    throw new AppError(
      'CONFIG_INVALID',
      `Slack did not accept SLACK_BOT_TOKEN (auth.test: ${code}). Check the token, or SLACK_API_URL if set.`,
      { cause: error },
    );
  }
}

/** HTTP or Socket Mode from the environment (config.ts has already checked the tokens go together). */
export function slackOptionsFromConfig(
  config: Pick<Config, 'SLACK_BOT_TOKEN' | 'SLACK_SIGNING_SECRET' | 'SLACK_APP_TOKEN' | 'SLACK_API_URL'>,
  deps: Pick<StartSlackOptions, 'services' | 'logger' | 'metrics'>,
): StartSlackOptions {
  // Socket Mode receives events over its own authenticated connection: no signing secret needed.
  if (!config.SLACK_BOT_TOKEN || (!config.SLACK_SIGNING_SECRET && !config.SLACK_APP_TOKEN)) {
    throw new AppError('CONFIG_INVALID', 'Slack needs SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET');
  }
  return {
    ...deps,
    botToken: config.SLACK_BOT_TOKEN,
    signingSecret: config.SLACK_SIGNING_SECRET ?? '',
    appToken: config.SLACK_APP_TOKEN,
    slackApiUrl: config.SLACK_API_URL,
    // The app's scheduler delivers the leak outbox (app.ts registers the surface's `leak` source).
    leakDelivery: 'scheduler',
  };
}
