import type { App } from '@slack/bolt';
import type { SlackDeps } from '../deps.ts';
import { ids } from '../ids.ts';
import { handleRotateKeyCommand } from './rotate-key-command.ts';

export function register(app: App, deps: SlackDeps): void {
  app.command(ids.command, handleRotateKeyCommand(deps));
}
