import type { App, BlockButtonAction } from '@slack/bolt';
import type { SlackDeps } from '../deps.ts';
import { ids } from '../ids.ts';
import { handleHomeEndGrace, handleHomeHistory, handleHomePage, handleHomeRotate } from './home-actions.ts';
import { handleHomeDelete, handleHomeEdit, handleHomeNewKey } from './key-admin-actions.ts';
import { handleLeakEndKey, handleLeakRevealNewKey, handleLeakRotateNow } from './leak-actions.ts';

/**
 * App Home's buttons, and Rotate now…, End this key now… and Reveal the new key on a leak's messages. (The /rotate-key modal's inputs dispatch no
 * actions: they arrive with the submission.)
 */
export function register(app: App, deps: SlackDeps): void {
  app.action<BlockButtonAction>(ids.home.rotate, handleHomeRotate(deps));
  app.action<BlockButtonAction>(ids.home.endGrace, handleHomeEndGrace(deps));
  app.action<BlockButtonAction>(ids.home.history, handleHomeHistory(deps));
  app.action<BlockButtonAction>(ids.home.previousPage, handleHomePage(deps));
  app.action<BlockButtonAction>(ids.home.nextPage, handleHomePage(deps));
  app.action<BlockButtonAction>(ids.home.newKey, handleHomeNewKey(deps));
  app.action<BlockButtonAction>(ids.home.edit, handleHomeEdit(deps));
  app.action<BlockButtonAction>(ids.home.delete, handleHomeDelete(deps));
  app.action<BlockButtonAction>(ids.leak.rotateNow, handleLeakRotateNow(deps));
  app.action<BlockButtonAction>(ids.leak.endKey, handleLeakEndKey(deps));
  app.action<BlockButtonAction>(ids.leak.revealNewKey, handleLeakRevealNewKey(deps));
}
