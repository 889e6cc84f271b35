import { BODY_LENGTH, CHECK_LENGTH, tokenChecksum } from './token.ts';

/**
 * Anything shaped like a key string of any prefix: `<prefix>_<38 base62>` between word boundaries.
 * The README gives this same expression to gitleaks and secretlint, so what a repository scanner
 * flags is what rekey recognises in Slack (test/keys/leak-scan.test.ts holds the two together). It is
 * linear in the text: a match can only start at a word boundary, and each `_` ends a prefix segment.
 */
export const KEY_SHAPE_SOURCE = String.raw`\b[a-z][a-z0-9]*(?:_[a-z0-9]+)*_[0-9A-Za-z]{38}\b`;

const KEY_SHAPE = new RegExp(KEY_SHAPE_SOURCE, 'g');
const TAIL_LENGTH = BODY_LENGTH + CHECK_LENGTH;

/**
 * The key strings in `text` whose checksum is right, each once, in order of appearance. Pure and
 * synchronous: a message without one costs a regular expression and a CRC-32 per candidate, never a
 * database lookup. Keys of any well-formed prefix count, so keys issued before a REKEY_KEY_PREFIX
 * change are found too.
 */
export function findKeyStrings(text: string): string[] {
  const found: string[] = [];
  for (const match of text.matchAll(KEY_SHAPE)) {
    const key = checkedKey(match[0]);
    if (key && !found.includes(key)) found.push(key);
  }
  return found;
}

/**
 * The key within a shaped match, or null. The expression starts a match at the first word boundary,
 * so a key glued to a word by `_` (`export_rk_live_…`) arrives with that word as part of its prefix:
 * each shorter prefix, cut at an `_`, gets its own checksum test.
 */
function checkedKey(shaped: string): string | null {
  const tailAt = shaped.length - TAIL_LENGTH;
  const body = shaped.slice(tailAt, tailAt + BODY_LENGTH);
  const check = shaped.slice(tailAt + BODY_LENGTH);
  let prefixAt = 0;
  while (prefixAt < tailAt - 1) {
    const prefix = shaped.slice(prefixAt, tailAt - 1);
    if (/^[a-z]/.test(prefix) && tokenChecksum(prefix, body) === check) return shaped.slice(prefixAt);
    const nextCut = shaped.indexOf('_', prefixAt);
    if (nextCut < 0 || nextCut >= tailAt - 1) break;
    prefixAt = nextCut + 1;
  }
  return null;
}
