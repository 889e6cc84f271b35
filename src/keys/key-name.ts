/** Key names are what people type after /rotate-key: short, no spaces, unambiguous. */
export const KEY_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function isKeyName(value: string): boolean {
  return KEY_NAME_PATTERN.test(value);
}
