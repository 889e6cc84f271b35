import fc from 'fast-check';
import { RE2 } from 're2-wasm';
import { describe, expect, it } from 'vitest';
import {
  KEY_SHAPE_SOURCE,
  KeyStringCollector,
  MAX_CANDIDATES,
  findKeyStrings as scan,
  textPieces,
} from '../../src/keys/leak-scan.ts';
import { generateToken } from '../../src/keys/token.ts';
import { typoOf } from '../support/fixtures.ts';

/** The key strings kept from `text`. */
const findKeyStrings = (text: string) => scan(text).keys;

/** Every match of the expression, run by RE2 (the engine gitleaks uses): no JavaScript regex involved. */
function re2Matches(text: string): string[] {
  const re2 = new RE2(KEY_SHAPE_SOURCE, 'gu');
  const found: string[] = [];
  for (let m = re2.exec(text); m; m = re2.exec(text)) found.push(m[0]!);
  return found;
}

describe('finding key strings in a message', () => {
  it('finds a key in prose, in code spans, after = and in a URL query', () => {
    const { token } = generateToken('rk_live');
    for (const text of [
      `here is the key ${token} for staging`,
      `\`${token}\``,
      `\`\`\`\nAPI_KEY=${token}\n\`\`\``,
      `<https://api.example.com/v1?key=${token}|link>`,
      `"${token}",`,
      token,
    ]) {
      expect(findKeyStrings(text), text.replace(token, '<key>')).toEqual([token]);
    }
  });

  it('finds keys of any well-formed prefix, so keys made under an earlier REKEY_KEY_PREFIX count', () => {
    const keys = ['rk_live', 'rk_test', 'acme', 'acme_pay_v2', 'x9'].map((p) => generateToken(p).token);
    expect(findKeyStrings(keys.join(' and '))).toEqual(keys);
  });

  it('drops a key with one character changed: its checksum fails', () => {
    const { token } = generateToken('rk_live');
    expect(findKeyStrings(`the key is ${typoOf(token)}`)).toEqual([]);
  });

  it('drops a key with a character missing or one too many', () => {
    const { token } = generateToken('rk_live');
    expect(findKeyStrings(`${token.slice(0, -1)} ${token}Z ${token.slice(0, 20)}${token.slice(21)}`)).toEqual(
      [],
    );
  });

  it('lists each key once, in the order it first appears', () => {
    const a = generateToken('rk_live').token;
    const b = generateToken('rk_live').token;
    expect(findKeyStrings(`${b} ${a} ${b}\n${a}`)).toEqual([b, a]);
  });

  it('finds a key glued to a word by an underscore, under its real prefix', () => {
    const { token } = generateToken('rk_live');
    expect(findKeyStrings(`export_${token}`)).toEqual([token]);
  });

  it('finds nothing in ordinary text, identifiers and long random strings', () => {
    const text = [
      'Deploying payments_api_v2 to staging_eu_west_1 now, see snake_case_identifier_with_many_parts',
      'sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
      `rk_live_${'A'.repeat(38)}`,
    ].join('\n');
    expect(findKeyStrings(text)).toEqual([]);
  });

  it('scans a 40 000-character adversarial message in a few milliseconds', () => {
    const text = `${'a_'.repeat(10_000)} ${'b_c'.repeat(5_000)} ${'Z'.repeat(5_000)}`;
    const started = performance.now();
    expect(findKeyStrings(text)).toEqual([]);
    expect(performance.now() - started).toBeLessThan(50);
  });

  it('finds a key at the end of a 40 000-character key-shaped match with thousands of `_`, trying only prefixes a key can have', () => {
    const { token } = generateToken('rk_live');
    // One shaped match: 13 000 `_x` segments, then a real key glued on. Before the bound this cost one
    // CRC over the whole match per `_` (quadratic: ~140 ms of blocked event loop).
    // Its cost is measured where it matters, on the event loop of a whole signed Slack event
    // (test/slack/leak-watch-bounds.test.ts); here, that the bound keeps the real key and drops the typo.
    expect(findKeyStrings(`${'a_x'.repeat(13_000)}_${token}`)).toEqual([token]);
    expect(findKeyStrings(`${'a_x'.repeat(13_000)}_${typoOf(token)}`)).toEqual([]);
  });

  it(`keeps at most ${MAX_CANDIDATES} distinct checksum-valid strings per message and counts the rest`, () => {
    const tokens = Array.from({ length: 25 }, () => generateToken('rk_live').token);
    const text = [...tokens, ...tokens].join(' ');
    expect(scan(text)).toEqual({ keys: tokens.slice(0, MAX_CANDIDATES), dropped: 25 - MAX_CANDIDATES });
  });

  it('finds exactly the same keys, in the same order and with the same count, when the text is scanned in pieces', () => {
    const keys = Array.from({ length: 30 }, (_, i) => generateToken(i % 3 ? 'rk_live' : 'sk_test').token);
    const word = fc.oneof(
      fc.constantFrom(...keys),
      fc.constantFrom('deploy', 'export_', 'a_x_', '`', '=', '\n', '\t', '  '),
      fc.string({ maxLength: 12 }),
    );
    fc.assert(
      fc.property(fc.array(word, { maxLength: 120 }), fc.integer({ min: 1, max: 300 }), (words, size) => {
        const text = words.join(words.length % 2 ? ' ' : '');
        const pieces = [...textPieces(text, size)];
        expect(pieces.join('')).toBe(text);
        const collector = new KeyStringCollector();
        for (const piece of pieces) collector.add(piece);
        expect(collector.result()).toEqual(scan(text));
      }),
      { seed: 20261207, numRuns: 200 },
    );
  });

  it('cuts text without whitespace too (keys joined by punctuation), so no piece is much longer than asked', () => {
    const keys = Array.from({ length: 200 }, () => generateToken('rk_live').token);
    const text = keys.join('-');
    const pieces = [...textPieces(text, 1_000)];
    expect(pieces.length).toBeGreaterThan(8);
    for (const piece of pieces) expect(piece.length).toBeLessThanOrEqual(1_000 + keys[0]!.length + 1);
    const collector = new KeyStringCollector();
    for (const piece of pieces) collector.add(piece);
    expect(collector.result()).toEqual(scan(text));
  });

  it('finds the same key-shaped strings when the expression runs under RE2 (what gitleaks uses)', () => {
    const keys = ['rk_live', 'acme_pay_v2'].map((p) => generateToken(p).token);
    const corpus = [
      `here is the key ${keys[0]} for staging`,
      `\`${keys[1]}\` and <https://x.test/?key=${keys[0]}|link>`,
      `export_${keys[0]}`,
      `${keys[0]!.slice(0, -1)} ${keys[0]}Z rk_live_${'A'.repeat(38)}`,
      'Deploying payments_api_v2 to staging_eu_west_1 now',
      `${'a_'.repeat(2_000)} ${'b_c'.repeat(1_000)}`,
    ];
    for (const text of corpus) {
      const js = [...text.matchAll(new RegExp(KEY_SHAPE_SOURCE, 'g'))].map((m) => m[0]);
      expect(re2Matches(text), text.slice(0, 60)).toEqual(js);
    }
    expect(re2Matches(corpus[0]!)).toEqual([keys[0]]);
  });
});
