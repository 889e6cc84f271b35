import type { WebClient } from '@slack/web-api';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import type { Services } from '../services/services.ts';
import type { HomePublisher } from './home-publisher.ts';
import { describeSlackError } from './slack-errors.ts';

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

/** Counts a failed Web API call and returns its loggable description. */
export function recordSlackError(deps: Pick<SlackDeps, 'metrics'>, method: string, error: unknown) {
  const described = describeSlackError(error);
  deps.metrics.slackApiErrors.inc({ method, error: described.code });
  return { method, ...described };
}
