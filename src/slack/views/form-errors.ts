import { isAppError } from '../../errors.ts';
import { ids } from '../ids.ts';
import { userMessageFor } from '../slack-errors.ts';

/** The input block that shows each field's problem (the services name fields, Slack names blocks). */
const BLOCK_OF_FIELD: Record<string, string> = {
  name: ids.blocks.name,
  products: ids.blocks.products,
  maintainers: ids.blocks.maintainers,
  alertChannel: ids.blocks.channel,
  rotateEveryDays: ids.blocks.policy,
  onLeak: ids.blocks.onLeak,
  canary: ids.blocks.canary,
  confirmName: ids.blocks.confirmName,
};

const sentence = (text: string) => `${text[0]?.toUpperCase() ?? ''}${text.slice(1)}`;

/**
 * What keeps the dialog open, with what the person entered, as `response_action: errors` wants it
 * (block id → message): a refusal of their input, under the input concerned; or a failure worth
 * retrying (the database unreachable, the key busy), under the first input, so they can submit again.
 * Undefined for anything else, which ends the dialog with its explanation.
 */
export function formErrors(error: unknown, shown: readonly string[]): Record<string, string> | undefined {
  if (!isAppError(error)) return undefined;
  const errors: Record<string, string> = {};
  for (const [field, message] of Object.entries(error.fields)) {
    const block = BLOCK_OF_FIELD[field];
    if (block && shown.includes(block)) errors[block] = sentence(message);
  }
  if (Object.keys(errors).length === 0 && error.retryable && shown[0]) {
    errors[shown[0]] = userMessageFor(error, 'submit');
  }
  return Object.keys(errors).length > 0 ? errors : undefined;
}

/** The input blocks a submitted view shows (those its state has values for). */
export function shownInputs(view: { state: { values: Record<string, unknown> } }): string[] {
  return Object.keys(view.state.values);
}
