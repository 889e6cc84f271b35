import type { SeenKeyState } from '../services/end-grace.ts';
import type { KeySummary } from '../services/types.ts';

/** Slack's limit on a button's value. */
const MAX_BUTTON_VALUE = 2000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Stands for "the old secrets of that current secret" when their ids do not fit (see SeenKeyState). */
const ALL_SHOWN = '*';

/**
 * "End grace now" carries what its card showed, so the press ends exactly that: the key's id, its
 * current secret's id and the ids of the old secrets listed (`key:current:old,old`). Ids, never key
 * strings. A key rotated so often within its grace period that the ids pass Slack's limit carries
 * `*` instead of the list.
 */
export function encodeEndGraceValue(key: KeySummary): string {
  return encodeEndGraceIds({
    keyId: key.id,
    currentSecretId: key.current?.id ?? null,
    oldSecretIds: key.inGrace.map((s) => s.id),
  });
}

/** The same value from ids alone: a reminder names one old secret of a key, not a whole card. */
export function encodeEndGraceIds(shown: {
  keyId: string;
  currentSecretId: string | null;
  oldSecretIds: readonly string[];
}): string {
  const head = `${shown.keyId}:${shown.currentSecretId ?? ''}:`;
  const value = head + shown.oldSecretIds.join(',');
  return value.length <= MAX_BUTTON_VALUE ? value : head + ALL_SHOWN;
}

/**
 * The card's key and what it showed; `seen` is undefined for a value that does not say (a Home
 * published before buttons carried it, or anything malformed), which ends nothing.
 */
export function decodeEndGraceValue(value: string | undefined): { keyId: string; seen?: SeenKeyState } {
  const [keyId = '', currentSecretId = '', old, ...rest] = (value ?? '').split(':');
  if (old === undefined || rest.length > 0 || !UUID.test(currentSecretId)) return { keyId };
  if (old === ALL_SHOWN) return { keyId, seen: { currentSecretId } };
  const oldSecretIds = old.split(',');
  if (!oldSecretIds.every((id) => UUID.test(id))) return { keyId };
  return { keyId, seen: { currentSecretId, oldSecretIds } };
}
