import { randomBytes } from 'node:crypto';
import { startFakeSlack } from '../fake-slack/fake-slack.ts';
import type { PathRoute } from '../http/routes.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import type { Services } from '../services/services.ts';
import { type SlackSurface, startSlack } from '../slack/start-slack.ts';
import { LocalWorkspace } from './local-workspace.ts';
import { createPageRoutes } from './page-routes.ts';

export interface LocalMode {
  slack: SlackSurface;
  routes: PathRoute[];
  stop(): Promise<void>;
}

/**
 * Local mode: the real Bolt app, talking to the in-process Slack fake (its Web API on a loopback
 * port) and receiving signed requests from the page's backend on our own /slack/events — the same
 * wire path as production, with a signing secret and token made up for this run.
 */
export async function startLocalMode(deps: {
  services: Services;
  logger: Logger;
  metrics: Metrics;
  /** Our own base URL, known once the server listens. */
  selfUrl: () => string;
}): Promise<LocalMode> {
  const botToken = `xoxb-local-${randomBytes(12).toString('hex')}`;
  const signingSecret = randomBytes(32).toString('hex');
  const fake = await startFakeSlack({ host: '127.0.0.1', botToken, maxRecordedCalls: 200 });
  const slack = await startSlack({
    services: deps.services,
    logger: deps.logger,
    metrics: deps.metrics,
    botToken,
    signingSecret,
    slackApiUrl: fake.apiUrl,
    bot: fake.bot,
    retries: 0,
    // The app's scheduler delivers the leak outbox (its `leak` source), as with a real workspace.
    leakDelivery: 'scheduler',
  });
  const workspace = new LocalWorkspace({ fake, signingSecret, botUrl: deps.selfUrl, logger: deps.logger });
  return {
    slack,
    routes: createPageRoutes(workspace),
    stop: async () => {
      await slack.stop();
      await fake.close();
    },
  };
}
