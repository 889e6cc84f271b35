import type { App } from '@slack/bolt';
import type { SlackDeps } from '../deps.ts';
import { handleAppHomeOpened } from './app-home-opened.ts';
import { handleMessagePosted } from './message-posted.ts';

export function register(app: App, deps: SlackDeps): void {
  app.event('app_home_opened', handleAppHomeOpened(deps));
  // message.channels and message.groups: the leak watch (keys pasted where others can read them).
  app.event('message', handleMessagePosted(deps));
}
