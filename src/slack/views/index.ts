import type { App } from '@slack/bolt';
import type { SlackDeps } from '../deps.ts';
import { ids } from '../ids.ts';
import { handleChooseSubmit } from './choose-submit.ts';
import { handleReviewSubmit } from './review-submit.ts';

export function register(app: App, deps: SlackDeps): void {
  app.view(ids.views.choose, handleChooseSubmit(deps));
  app.view(ids.views.review, handleReviewSubmit(deps));
}
