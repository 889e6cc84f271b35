import { createHash } from 'node:crypto';
import { AppError } from '../errors.ts';
import { isKeyName } from '../keys/key-name.ts';
import { isOnLeak, ON_LEAK_TEXT, type OnLeak } from '../keys/on-leak.ts';
import {
  MAX_ROTATE_EVERY_DAYS,
  MIN_ROTATE_EVERY_DAYS,
  ROTATE_EVERY_RANGE_TEXT,
} from '../keys/rotation-policy.ts';

/** What identifies and routes a key, as people set it (creation, edits). Never a key string. */
export interface KeyFields {
  name: string;
  products: string[];
  maintainers: string[];
  alertChannel: string | null;
  rotateEveryDays: number | null;
  /** What rekey does by itself when a working secret is reported leaked. */
  onLeak: OnLeak;
}

export type KeyField = keyof KeyFields;

const SLACK_USER_ID = /^[UW][A-Z0-9]{1,20}$/;
const SLACK_CHANNEL_ID = /^[CGD][A-Z0-9]{1,20}$/;
const PRODUCT = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

/**
 * What is wrong with the given fields, one sentence per field (absent fields are not checked).
 * `requireMaintainers`: refuse an empty list, which would leave a key only admins can rotate.
 */
export function keyFieldProblems(
  fields: Partial<KeyFields>,
  options: { requireMaintainers?: boolean } = {},
): Partial<Record<KeyField, string>> {
  const problems: Partial<Record<KeyField, string>> = {};
  if (fields.name !== undefined && !isKeyName(fields.name)) {
    problems.name = 'name must be 1–64 letters, digits, ".", "_" or "-", starting with a letter or digit';
  }
  const badProducts = (fields.products ?? []).filter((p) => !PRODUCT.test(p));
  if (badProducts.length > 0) {
    problems.products = badProducts
      .map(
        (p) => `product "${p}" is not a valid product name (letters, digits, ".", "_", ":" or "-", up to 64)`,
      )
      .join('; ');
  }
  const badUsers = (fields.maintainers ?? []).filter((u) => !SLACK_USER_ID.test(u));
  if (badUsers.length > 0) {
    problems.maintainers = badUsers
      .map((u) => `maintainer "${u}" is not a Slack user id (like U012ABCDEF)`)
      .join('; ');
  } else if (
    options.requireMaintainers &&
    fields.maintainers !== undefined &&
    fields.maintainers.length === 0
  ) {
    problems.maintainers =
      'a key needs at least one maintainer: with none, nobody but the rekey admins could rotate it';
  }
  if (fields.alertChannel && !SLACK_CHANNEL_ID.test(fields.alertChannel)) {
    problems.alertChannel = `channel "${fields.alertChannel}" is not a Slack channel id (like C012ABCDEF)`;
  }
  const days = fields.rotateEveryDays;
  if (
    days !== undefined &&
    days !== null &&
    !(Number.isInteger(days) && days >= MIN_ROTATE_EVERY_DAYS && days <= MAX_ROTATE_EVERY_DAYS)
  ) {
    problems.rotateEveryDays = `the rotation policy must be ${ROTATE_EVERY_RANGE_TEXT}`;
  }
  if (fields.onLeak !== undefined && !isOnLeak(fields.onLeak)) {
    problems.onLeak = `on-leak must be ${ON_LEAK_TEXT}`;
  }
  return problems;
}

/** Throws INVALID_INPUT naming every problem (and each one by field, for forms) if there is any. */
export function assertKeyFields(fields: Partial<KeyFields>, options: { requireMaintainers?: boolean } = {}) {
  const problems = keyFieldProblems(fields, options);
  const messages = Object.values(problems);
  if (messages.length === 0) return;
  const text = messages.join('; ');
  throw new AppError('INVALID_INPUT', text, {
    userMessage: `${text[0]!.toUpperCase()}${text.slice(1)}. Nothing was changed.`,
    fields: problems as Record<string, string>,
  });
}

/** The same list, once each, in the order given: `["a", "b", "a"]` → `["a", "b"]`. */
export function distinct(values: readonly string[]): string[] {
  return [...new Set(values)];
}

export function keyNameTaken(name: string, cause: unknown): AppError {
  const message = `A key named "${name}" already exists; choose another name.`;
  return new AppError('KEY_NAME_TAKEN', message, { cause, fields: { name: message } });
}

/** A key's fields as a row or a summary carries them (a hand-made summary may leave onLeak out). */
type KeyFieldsLike = Omit<KeyFields, 'onLeak'> & { onLeak?: OnLeak };

/** The fields of a stored key, as `KeyFields`. */
export function keyFieldsOf(key: KeyFieldsLike): KeyFields {
  return {
    name: key.name,
    products: key.products,
    maintainers: key.maintainers,
    alertChannel: key.alertChannel,
    rotateEveryDays: key.rotateEveryDays,
    onLeak: key.onLeak ?? 'notify',
  };
}

/**
 * A short fingerprint of a key's fields as someone saw them (an Edit dialog carries it, not the fields:
 * a key with many maintainers would not fit Slack's metadata). A different one at submission means
 * somebody else changed the key meanwhile, and saving would silently undo their change.
 */
export function keyFieldsVersion(key: KeyFieldsLike): string {
  return createHash('sha256')
    .update(JSON.stringify(keyFieldsOf(key)))
    .digest('base64url')
    .slice(0, 22);
}
