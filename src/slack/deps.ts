import type { WebClient } from '@slack/web-api';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import type { Services } from '../services/services.ts';
import type { HomePublisher } from './home-publisher.ts';

/** What every Slack handler gets through its closure. Tests pass their own. */
export interface SlackDeps {
  services: Services;
  /** The process's one Web API client (create-web-client.ts), not Bolt's per-request one. */
  client: WebClient;
  logger: Logger;
  metrics: Metrics;
  /** Publishes App Homes (events/ and actions/ ask it; it also follows key changes by itself). */
  home: HomePublisher;
}
