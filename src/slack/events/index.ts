import type { App } from '@slack/bolt';
import type { SlackDeps } from '../deps.ts';

/** Events API listeners (App Home's `app_home_opened` belongs here). None yet. */
export function register(_app: App, _deps: SlackDeps): void {}
