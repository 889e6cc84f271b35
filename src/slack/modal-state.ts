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

/** What the Edit and Delete dialogs carry in `private_metadata`: the key's id, and for Edit the version seen. */
export interface KeyDialogMetadata {
  keyId: string;
  /** `keyFieldsVersion` of the key when the Edit dialog opened. */
  version?: string;
}

export function encodeKeyDialogMetadata(meta: KeyDialogMetadata): string {
  return JSON.stringify(meta);
}

export function decodeKeyDialogMetadata(text: string): KeyDialogMetadata | null {
  try {
    const value = JSON.parse(text) as Partial<KeyDialogMetadata>;
    if (typeof value.keyId !== 'string') return null;
    if (value.version !== undefined && typeof value.version !== 'string') return null;
    return { keyId: value.keyId, ...(value.version ? { version: value.version } : {}) };
  } catch {
    return null;
  }
}

/**
 * The New key / Edit dialogs' inputs as Slack reports them; a field whose input the dialog did not
 * show is undefined (a maintainer's Edit shows only the policy). Texts are trimmed; products are split
 * on commas and spaces. The policy is the option's value, parsed by the caller.
 */
export function readKeyFormState(view: Pick<ViewOutput, 'state'>): {
  name?: string;
  products?: string[];
  maintainers?: string[];
  alertChannel?: string | null;
  policy?: string;
  onLeak?: string;
  /** New key only: the Canary box was ticked. */
  canary?: boolean;
} {
  const values = view.state.values;
  const onLeak = values[ids.blocks.onLeak]?.[ids.actions.onLeak];
  const name = values[ids.blocks.name]?.[ids.actions.name];
  const products = values[ids.blocks.products]?.[ids.actions.products];
  const maintainers = values[ids.blocks.maintainers]?.[ids.actions.maintainers];
  const channel = values[ids.blocks.channel]?.[ids.actions.channel];
  const policy = values[ids.blocks.policy]?.[ids.actions.policy];
  const canary = values[ids.blocks.canary]?.[ids.actions.canary];
  return {
    ...(name ? { name: (name.value ?? '').trim() } : {}),
    ...(products
      ? {
          products: (products.value ?? '')
            .split(/[\s,]+/)
            .map((p) => p.trim())
            .filter(Boolean),
        }
      : {}),
    ...(maintainers ? { maintainers: maintainers.selected_users ?? [] } : {}),
    ...(channel ? { alertChannel: channel.selected_conversation ?? null } : {}),
    ...(policy ? { policy: policy.selected_option?.value ?? '' } : {}),
    ...(onLeak ? { onLeak: onLeak.selected_option?.value ?? '' } : {}),
    ...(canary
      ? { canary: (canary.selected_options ?? []).some((option) => option.value === ids.canaryValue) }
      : {}),
  };
}

/** What was typed in the Delete dialog's confirmation, as is (it must match the name exactly). */
export function readConfirmName(view: Pick<ViewOutput, 'state'>): string {
  return view.state.values[ids.blocks.confirmName]?.[ids.actions.confirmName]?.value ?? '';
}

/** One key created per New key dialog and user, however often "Create key" is clicked. Not a secret. */
export function creationRequestId(viewId: string, userId: string): string {
  return `slack-create:${viewId}:${userId}`;
}
