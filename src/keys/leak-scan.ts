import { crc32 } from 'node:zlib';
import { decodeBase62 } from './base62.ts';
import { BODY_LENGTH, CHECK_LENGTH, MAX_TOKEN_LENGTH } from './token.ts';

/**
 * Anything shaped like a key string of any prefix: `<prefix>_<38 base62>` between word boundaries.
 * The README gives this same expression to gitleaks and secretlint, so what a repository scanner
 * flags is what rekey recognises in Slack (test/keys/leak-scan.test.ts holds the two together). It is
 * linear in the text: a match can only start at a word boundary, and each `_` ends a prefix segment.
 */
export const KEY_SHAPE_SOURCE = String.raw`\b[a-z][a-z0-9]*(?:_[a-z0-9]+)*_[0-9A-Za-z]{38}\b`;

const KEY_SHAPE = new RegExp(KEY_SHAPE_SOURCE, 'g');
const TAIL_LENGTH = BODY_LENGTH + CHECK_LENGTH;
/** The longest prefix a key string can have and still verify (token.ts refuses longer strings). */
const MAX_PREFIX_LENGTH = MAX_TOKEN_LENGTH - TAIL_LENGTH - 1;

/**
 * Distinct checksum-valid strings looked up per message. The checksum is public, so anyone can
 * fabricate strings that pass it: without a bound, one pasted page would cost a database lookup per
 * string. Past it, strings are only counted (`dropped`), never looked up.
 */
export const MAX_CANDIDATES = 20;

export interface KeyStrings {
  /** Checksum-valid key strings, each once, in order of appearance; at most `MAX_CANDIDATES`. */
  keys: string[];
  /** Further distinct checksum-valid strings past the bound: counted, not kept. */
  dropped: number;
}

/**
 * The key strings in `text` whose checksum is right. Pure and synchronous, and linear in the text: one
 * regular expression, then a CRC-32 over at most `MAX_TOKEN_LENGTH` characters per shaped match (and
 * one per `_` among its last characters). A message without one never costs a database lookup. Keys
 * of any well-formed prefix count, so keys issued before a REKEY_KEY_PREFIX change are found too.
 */
export function findKeyStrings(text: string, limit = MAX_CANDIDATES): KeyStrings {
  const found = new KeyStringCollector(limit);
  found.add(text);
  return found.result();
}

/**
 * `findKeyStrings` over a text given in pieces (`textPieces`), so a caller can let other work run
 * between them: the same keys, in the same order, with the same bound.
 */
export class KeyStringCollector {
  private readonly seen = new Set<string>();
  private readonly keys: string[] = [];
  constructor(private readonly limit = MAX_CANDIDATES) {}

  add(text: string): void {
    for (const match of text.matchAll(KEY_SHAPE)) {
      const key = checkedKey(match[0]);
      if (!key || this.seen.has(key)) continue;
      this.seen.add(key);
      if (this.keys.length < this.limit) this.keys.push(key);
    }
  }

  result(): KeyStrings {
    return { keys: [...this.keys], dropped: this.seen.size - this.keys.length };
  }
}

/**
 * `text` cut into pieces of about `size` characters, each cut just before a character that is not a
 * word character (letters, digits, `_`). A key-shaped string holds only word characters and is bounded
 * by word boundaries, which a cut there does not move, so scanning the pieces one by one finds exactly
 * what scanning the whole text finds. Only a run of word characters longer than `size` stays in one
 * piece (it is one match at most).
 */
export function* textPieces(text: string, size: number): Generator<string> {
  const nonWord = /[^A-Za-z0-9_]/g;
  let start = 0;
  while (text.length - start > size) {
    nonWord.lastIndex = start + size;
    const cut = nonWord.exec(text);
    if (!cut) break;
    yield text.slice(start, cut.index);
    start = cut.index;
  }
  yield text.slice(start);
}

/**
 * The key within a shaped match, or null. The expression starts a match at the first word boundary,
 * so a key glued to a word by `_` (`export_rk_live_…`) arrives with that word as part of its prefix:
 * each shorter prefix, cut at an `_`, gets its own checksum test. Only prefixes a key string can
 * really have are tried (at most MAX_PREFIX_LENGTH characters), so a 40 000-character match costs a
 * few dozen short CRCs, not one over the whole match per `_` in it.
 */
function checkedKey(shaped: string): string | null {
  const tailAt = shaped.length - TAIL_LENGTH;
  const checkAt = tailAt + BODY_LENGTH;
  // The check digits as the number they spell: each candidate prefix then costs one CRC-32, no encoding.
  const check = decodeBase62(shaped.slice(checkAt));
  const prefixEnd = tailAt - 1;
  let prefixAt = Math.max(0, prefixEnd - MAX_PREFIX_LENGTH);
  // Cut in the middle of a word: the first candidate starts after the next `_`.
  if (prefixAt > 0 && shaped[prefixAt - 1] !== '_') {
    const nextCut = shaped.indexOf('_', prefixAt);
    if (nextCut < 0 || nextCut >= prefixEnd) return null;
    prefixAt = nextCut + 1;
  }
  while (prefixAt < prefixEnd) {
    const first = shaped.charCodeAt(prefixAt);
    // A prefix starts with a lower-case letter; the CRC covers `<prefix>_<body>`.
    if (first >= 97 && first <= 122 && crc32(shaped.slice(prefixAt, checkAt)) === check) {
      return shaped.slice(prefixAt);
    }
    const nextCut = shaped.indexOf('_', prefixAt);
    if (nextCut < 0 || nextCut >= prefixEnd) break;
    prefixAt = nextCut + 1;
  }
  return null;
}
