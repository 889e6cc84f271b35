import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { BASE62_ALPHABET, encodeBase62 } from '../../src/keys/base62.ts';
import { hashToken } from '../../src/keys/hash.ts';
import {
  displayToken,
  generateToken,
  isWellFormedToken,
  parseToken,
  tokenChecksum,
} from '../../src/keys/token.ts';

const FORMAT = /^rk_live_[0-9A-Za-z]{32}[0-9A-Za-z]{6}$/;

describe('key strings', () => {
  it('are <prefix>_<32 base62><6 base62 checksum>', () => {
    const { token } = generateToken('rk_live');
    expect(token).toMatch(FORMAT);
    expect(token).toHaveLength('rk_live_'.length + 38);
  });

  it('use the base62 alphabet 0-9, A-Z, a-z in that order', () => {
    expect(BASE62_ALPHABET).toBe('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz');
    expect(encodeBase62(0, 6)).toBe('000000');
    expect(encodeBase62(61, 1)).toBe('z');
    expect(encodeBase62(62, 1)).toBe('10');
    expect(encodeBase62(0xffffffff, 6)).toBe('4gfFC3');
  });

  it('end with the CRC-32 of "<prefix>_<body>", base62, most significant digit first, padded to 6', () => {
    const body = 'abcdefghijABCDEFGHIJ0123456789xy';
    const crc = crc32(`rk_live_${body}`);
    let expected = '';
    for (let n = crc; n > 0; n = Math.floor(n / 62)) expected = BASE62_ALPHABET[n % 62] + expected;
    expect(tokenChecksum('rk_live', body)).toBe(expected.padStart(6, '0'));
    expect(parseToken(`rk_live_${body}${expected.padStart(6, '0')}`)).toEqual({
      prefix: 'rk_live',
      body,
      check: expected.padStart(6, '0'),
    });
  });

  it('10 000 generated keys are all distinct and all valid', () => {
    const seen = new Set<string>();
    const invalid: string[] = [];
    for (let i = 0; i < 10_000; i++) {
      const { token } = generateToken('rk_live');
      if (parseToken(token) === null) invalid.push(token);
      seen.add(token);
    }
    expect(invalid).toEqual([]);
    expect(seen.size).toBe(10_000);
  });

  it('rejects every one-character typo, at every position', () => {
    const { token } = generateToken('rk_live');
    for (let i = 0; i < token.length; i++) {
      const replacement = token[i] === 'a' ? 'b' : 'a';
      const typo = token.slice(0, i) + replacement + token.slice(i + 1);
      expect(parseToken(typo), `typo at ${i}`).toBeNull();
    }
  });

  it('rejects truncated, padded and non-string input', () => {
    const { token } = generateToken('rk_live');
    for (const bad of [
      token.slice(0, -1),
      `${token}x`,
      ` ${token}`,
      '',
      'rk_live_',
      42,
      null,
      undefined,
      {},
    ]) {
      expect(parseToken(bad)).toBeNull();
    }
  });

  it('the allocation-free check used by the verify path agrees with the full parser', () => {
    const { token } = generateToken('rk_live');
    const candidates: unknown[] = [
      token,
      generateToken('acme_test').token,
      `Bad_${token.slice(8)}`,
      `_${token.slice(8)}`,
    ];
    for (let i = 0; i < token.length; i++) {
      for (const c of ['a', '_', 'Z', '0', '-', 'é'])
        candidates.push(token.slice(0, i) + c + token.slice(i + 1));
    }
    candidates.push(token.slice(1), `${token}0`, 'rk_live', '', 42, null, 'x'.repeat(300));
    for (const candidate of candidates) {
      expect(isWellFormedToken(candidate), String(candidate)).toBe(parseToken(candidate) !== null);
    }
  });

  it('accepts keys issued under another prefix, so changing REKEY_KEY_PREFIX strands no key', () => {
    const { token } = generateToken('acme_test');
    expect(parseToken(token)?.prefix).toBe('acme_test');
  });

  it('refuses to issue keys with an invalid prefix', () => {
    expect(() => generateToken('Bad-Prefix')).toThrow();
  });

  it('display form shows the prefix and the first and last 4 characters of the body only', () => {
    const { token, parsed } = generateToken('rk_live');
    const display = displayToken(parsed);
    expect(display).toBe(`rk_live_${parsed.body.slice(0, 4)}…${parsed.body.slice(-4)}`);
    expect(token.includes(display)).toBe(false);
  });

  it('hash is the SHA-256 hex of the whole key string', () => {
    expect(hashToken('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
