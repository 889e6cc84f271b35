import type { App } from '@slack/bolt';
import type { SlackDeps } from '../deps.ts';
import { ids } from '../ids.ts';
import { handleChooseSubmit } from './choose-submit.ts';
import { handleDeleteKeySubmit } from './delete-key-submit.ts';
import { handleEditKeySubmit } from './edit-key-submit.ts';
import { handleEndLeakedKeySubmit } from './end-leaked-key-submit.ts';
import { handleNewKeySubmit } from './new-key-submit.ts';
import { handleReviewSubmit } from './review-submit.ts';

export function register(app: App, deps: SlackDeps): void {
  app.view(ids.views.choose, handleChooseSubmit(deps));
  app.view(ids.views.review, handleReviewSubmit(deps));
  app.view(ids.views.newKey, handleNewKeySubmit(deps));
  app.view(ids.views.editKey, handleEditKeySubmit(deps));
  app.view(ids.views.deleteKey, handleDeleteKeySubmit(deps));
  app.view(ids.views.endLeakedKey, handleEndLeakedKeySubmit(deps));
}
