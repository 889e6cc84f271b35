import type { App } from '@slack/bolt';
import type { SlackDeps } from '../deps.ts';
import { handleAppHomeOpened } from './app-home-opened.ts';

export function register(app: App, deps: SlackDeps): void {
  app.event('app_home_opened', handleAppHomeOpened(deps));
}
