import type { ViewOutput } from '@slack/bolt';
import { type Delay, isDelay } from '../keys/delay.ts';
import { ids } from './ids.ts';

/**
 * What travels between the modal's steps, in `private_metadata`: ids and choices, never a key string
 * (Slack echoes it back in every payload).
 */
export interface ReviewMetadata {
  keyId: string;
  delay: Delay;
  acknowledged: true;
}

export function encodeReviewMetadata(meta: ReviewMetadata): string {
  return JSON.stringify(meta);
}

export function decodeReviewMetadata(text: string): ReviewMetadata | null {
  try {
    const value = JSON.parse(text) as Partial<ReviewMetadata>;
    if (typeof value.keyId !== 'string' || !isDelay(value.delay) || value.acknowledged !== true) return null;
    return { keyId: value.keyId, delay: value.delay, acknowledged: true };
  } catch {
    return null;
  }
}

/** The user's choices in step 1, as Slack reports them in `view.state.values`. */
export function readChooseState(view: Pick<ViewOutput, 'state'>): {
  keyId: string | undefined;
  delay: Delay | undefined;
  acknowledged: boolean;
} {
  const values = view.state.values;
  const keyId = values[ids.blocks.key]?.[ids.actions.key]?.selected_option?.value ?? undefined;
  const delayValue = values[ids.blocks.delay]?.[ids.actions.delay]?.selected_option?.value;
  const acks = values[ids.blocks.ack]?.[ids.actions.ack]?.selected_options ?? [];
  return {
    keyId: keyId || undefined,
    delay: isDelay(delayValue) ? delayValue : undefined,
    acknowledged: acks.some((option) => option.value === ids.ackValue),
  };
}

/**
 * The final submission's idempotency key: one modal (its view id survives `update`) and one user.
 * A double click sends the same view id again, so the second one rotates nothing. Not a secret.
 */
export function rotationRequestId(viewId: string, userId: string): string {
  return `slack:${viewId}:${userId}`;
}
