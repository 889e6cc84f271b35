import { describe, expect, it } from 'vitest';
import { findKeyStrings, KEY_SHAPE_SOURCE } from '../../src/keys/leak-scan.ts';
import { generateToken } from '../../src/keys/token.ts';
import { typoOf } from '../support/fixtures.ts';

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

  it('uses one expression that also runs under RE2 (gitleaks): no lookaround, no backreference', () => {
    expect(KEY_SHAPE_SOURCE).not.toMatch(/\(\?[=!<]|\\[1-9]/);
  });
});
