import { randomBytes as nodeRandomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { encodeBase62, randomBase62 } from './base62.ts';

/** A prefix as REKEY_KEY_PREFIX must spell it. */
export const PREFIX_PATTERN = /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/;
export const BODY_LENGTH = 32;
export const CHECK_LENGTH = 6;
/** The longest key string rekey accepts (parse and verify refuse anything longer). */
export const MAX_TOKEN_LENGTH = 200;
const TAIL_PATTERN = /^[0-9A-Za-z]{38}$/;

export interface ParsedToken {
  prefix: string;
  body: string;
  check: string;
}

/** CRC-32 (IEEE, as zlib computes it) of `<prefix>_<body>`, in 6 base62 digits. */
export function tokenChecksum(prefix: string, body: string): string {
  return encodeBase62(crc32(`${prefix}_${body}`), CHECK_LENGTH);
}

/** A fresh key string `<prefix>_<32 random base62><6 checksum>`. The only place secrets are born. */
export function generateToken(
  prefix: string,
  randomBytes: (n: number) => Uint8Array = nodeRandomBytes,
): { token: string; parsed: ParsedToken } {
  if (!PREFIX_PATTERN.test(prefix)) throw new RangeError('invalid key prefix');
  const body = randomBase62(BODY_LENGTH, randomBytes);
  const check = tokenChecksum(prefix, body);
  return { token: `${prefix}_${body}${check}`, parsed: { prefix, body, check } };
}

/**
 * Splits and checks a key string without any I/O: the shape, then the checksum. A typo or a
 * truncated paste fails here, so it never costs a database round trip. Any well-formed prefix is
 * accepted, so keys issued before a REKEY_KEY_PREFIX change keep verifying.
 */
export function parseToken(token: unknown): ParsedToken | null {
  if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) return null;
  const cut = token.lastIndexOf('_');
  if (cut <= 0) return null;
  const prefix = token.slice(0, cut);
  const tail = token.slice(cut + 1);
  if (!TAIL_PATTERN.test(tail) || !PREFIX_PATTERN.test(prefix)) return null;
  const body = tail.slice(0, BODY_LENGTH);
  const check = tail.slice(BODY_LENGTH);
  if (tokenChecksum(prefix, body) !== check) return null;
  return { prefix, body, check };
}

/** Prefixes already seen to match PREFIX_PATTERN (a handful in practice), so the regex runs once each. */
const knownPrefixes = new Set<string>();

/** The value of one base62 digit by its char code, or -1 for anything else. */
function base62Digit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 90) return c - 55;
  if (c >= 97 && c <= 122) return c - 61;
  return -1;
}

/** The prefix of the last well-formed key seen: almost every request carries the same one. */
let lastPrefix = '';

/**
 * The same decision as `parseToken(token) !== null`, without allocating the parts: the verify hot path
 * asks this for every request.
 */
export function isWellFormedToken(token: unknown): boolean {
  if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) return false;
  const checkAt = token.length - CHECK_LENGTH;
  const cut = checkAt - BODY_LENGTH - 1;
  if (cut <= 0 || token.charCodeAt(cut) !== 95 /* _ */) return false;
  for (let i = cut + 1; i < checkAt; i++) if (base62Digit(token.charCodeAt(i)) < 0) return false;
  // The check digits, read as the number they spell (most significant first).
  let check = 0;
  for (let i = checkAt; i < token.length; i++) {
    const digit = base62Digit(token.charCodeAt(i));
    if (digit < 0) return false;
    check = check * 62 + digit;
  }
  if (!(cut === lastPrefix.length && token.startsWith(lastPrefix))) {
    const prefix = token.slice(0, cut);
    if (!knownPrefixes.has(prefix)) {
      if (!PREFIX_PATTERN.test(prefix)) return false;
      if (knownPrefixes.size < 64) knownPrefixes.add(prefix);
    }
    lastPrefix = prefix;
  }
  return crc32(token.slice(0, checkAt)) === check;
}

/** `rk_live_AbCd…wxyz`: enough to recognise a key, never enough to use it. */
export function displayToken(parsed: Pick<ParsedToken, 'prefix' | 'body'>): string {
  return `${parsed.prefix}_${parsed.body.slice(0, 4)}…${parsed.body.slice(-4)}`;
}

/** Matches anything shaped like a key string, for scrubbing text that must never carry one. */
export const TOKEN_LIKE = /[a-z][a-z0-9]*(?:_[a-z0-9]+)*_[0-9A-Za-z]{38}(?![0-9A-Za-z])/g;

/**
 * A prefix and at least a key's body of base62 after it, whatever follows: wider than TOKEN_LIKE, so a
 * key with a letter glued to its end (`…rk_live_<38>x`) is caught too.
 */
const KEY_STRING_RUN = /[a-z][a-z0-9]*(?:_[a-z0-9]+)*_[0-9A-Za-z]{32,}/g;

/**
 * Text from outside (a user agent, a request URI, a URL a scanner reports) as rekey keeps and shows
 * it: anything shaped like a key string replaced by `[key]`, since a client may put its key anywhere
 * and no table, log line or message ever holds one. Scrub before cutting text to a length: a cut key
 * is still a key (its missing characters are a checksum away).
 */
export function withoutKeyStrings(text: string): string {
  return text.replace(KEY_STRING_RUN, '[key]');
}
