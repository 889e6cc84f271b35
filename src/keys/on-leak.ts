/**
 * What rekey does by itself when a working secret of a key is reported leaked
 * (docs/architecture.md#leak-response): `notify` only tells people; `rotate-1h` and `rotate-now`
 * replace a leaked current secret (its clients get one hour, or none) and end a leaked old one at once.
 */
export const ON_LEAK = ['notify', 'rotate-1h', 'rotate-now'] as const;
export type OnLeak = (typeof ON_LEAK)[number];

export function isOnLeak(value: unknown): value is OnLeak {
  return typeof value === 'string' && (ON_LEAK as readonly string[]).includes(value);
}

export const ON_LEAK_TEXT = 'notify, rotate-1h or rotate-now';
