import type { AllMiddlewareArgs, SlackEventMiddlewareArgs } from '@slack/bolt';
import type { SlackDeps } from '../deps.ts';

type HomeOpenedArgs = SlackEventMiddlewareArgs<'app_home_opened'> & AllMiddlewareArgs;

/**
 * The user opened rekey's Home tab (Bolt has already acknowledged the event): publish their key cards
 * as they are now. The Messages tab fires the same event and needs nothing.
 */
export function handleAppHomeOpened(deps: SlackDeps) {
  return async ({ event }: HomeOpenedArgs) => {
    if (event.tab !== 'home') return;
    await deps.home.publish(event.user);
  };
}
