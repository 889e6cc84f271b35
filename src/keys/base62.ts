/** The base62 alphabet of key strings: digits, then upper case, then lower case. */
export const BASE62_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Writes a non-negative integer in base62, most significant digit first, left-padded with `0`. */
export function encodeBase62(value: number, width: number): string {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`cannot encode ${value} in base62`);
  let out = '';
  let rest = value;
  do {
    out = BASE62_ALPHABET[rest % 62] + out;
    rest = Math.floor(rest / 62);
  } while (rest > 0);
  return out.padStart(width, '0');
}

/** Draws `length` base62 characters from a byte source, without modulo bias (rejection sampling). */
export function randomBase62(length: number, randomBytes: (n: number) => Uint8Array): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      // 248 = 4 × 62: bytes at or above it would favour the first characters.
      if (byte < 248) out += BASE62_ALPHABET[byte % 62];
      if (out.length === length) break;
    }
  }
  return out;
}

/** The number base62 digits spell (most significant first); -1 if any character is not base62. */
export function decodeBase62(digits: string): number {
  let value = 0;
  for (let i = 0; i < digits.length; i++) {
    const index = BASE62_ALPHABET.indexOf(digits[i]!);
    if (index < 0) return -1;
    value = value * 62 + index;
  }
  return value;
}
