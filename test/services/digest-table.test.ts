import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DigestTable } from '../../src/services/digest-table.ts';

/** A digest as the verify cache has it: 32 latin1 characters, one per byte. */
const digest = () => randomBytes(32).toString('latin1');

afterEach(() => {
  vi.restoreAllMocks();
});

describe('digest table', () => {
  it('stores, replaces and deletes by the first 16 bytes of a digest', () => {
    const table = new DigestTable<string>({ maxEntries: 10, ttlMs: 60_000 });
    const a = digest();
    table.set(a, 'one');
    expect(table.get(a)).toBe('one');
    // The same 16 leading bytes are the same key, whatever follows.
    expect(table.get(`${a.slice(0, 16)}${'x'.repeat(16)}`)).toBe('one');
    table.set(a, 'two');
    expect(table.get(a)).toBe('two');
    expect(table.size).toBe(1);
    expect(table.get(digest())).toBeUndefined();
    expect(table.delete(a)).toBe(true);
    expect(table.delete(a)).toBe(false);
    expect(table.get(a)).toBeUndefined();
    expect(table.size).toBe(0);
  });

  it('refuses to store a key shorter than 16 bytes, and finds none', () => {
    const table = new DigestTable<string>({ maxEntries: 10, ttlMs: 60_000 });
    expect(() => table.set('short', 'x')).toThrow(RangeError);
    expect(table.get('')).toBeUndefined();
    expect(table.delete('short')).toBe(false);
    expect(table.size).toBe(0);
  });

  it('answers exactly like a Map through inserts, replacements and deletions in crowded runs', () => {
    // 120 000 steps: the first difference is kept and asserted once (an expect per step costs seconds).
    let firstDifference: string | undefined;
    const differs = (what: string, got: unknown, want: unknown) => {
      if (got !== want) firstDifference ??= `${what}: ${String(got)}, a Map says ${String(want)}`;
    };
    for (let round = 0; round < 20; round++) {
      // Fresh keys and a fresh table (so fresh slots) each round.
      // 50 keys in 63 slots: runs are long, and every deletion moves entries back.
      const keys = Array.from({ length: 50 }, digest);
      const table = new DigestTable<number>({ maxEntries: 50, ttlMs: 60_000 });
      const model = new Map<string, number>();
      for (let step = 0; step < 3_000; step++) {
        const key = keys[Math.floor(Math.random() * keys.length)]!;
        if (Math.random() < 0.4) {
          differs(`round ${round}, step ${step}: delete`, table.delete(key), model.delete(key));
        } else {
          table.set(key, step);
          model.set(key, step);
        }
        differs(`round ${round}, step ${step}: size`, table.size, model.size);
      }
      for (const key of keys) differs(`round ${round}: get`, table.get(key), model.get(key));
    }
    expect(firstDifference).toBeUndefined();
  });

  it('never answers a value other than the last one stored for a key while it evicts', () => {
    let firstWrong: string | undefined;
    for (let round = 0; round < 20; round++) {
      // Fresh keys and a fresh table (so fresh slots) each round.
      const keys = Array.from({ length: 80 }, digest);
      const table = new DigestTable<number>({ maxEntries: 50, ttlMs: 60_000 });
      const model = new Map<string, number>();
      for (let step = 0; step < 3_000; step++) {
        const key = keys[Math.floor(Math.random() * keys.length)]!;
        const dice = Math.random();
        if (dice < 0.2) {
          table.delete(key);
          model.delete(key);
        } else if (dice < 0.6) {
          table.set(key, step);
          model.set(key, step);
        } else {
          const found = table.get(key);
          if (found !== undefined && found !== model.get(key)) {
            firstWrong ??= `round ${round}, step ${step}: ${found}, last stored ${model.get(key)}`;
          }
        }
        if (table.size > 50) firstWrong ??= `round ${round}, step ${step}: ${table.size} entries`;
      }
    }
    expect(firstWrong).toBeUndefined();
  });

  it('keeps its entries and their times as it grows', () => {
    let now = 1_000;
    vi.spyOn(performance, 'now').mockImplementation(() => now);
    const table = new DigestTable<number>({ maxEntries: 5_000, ttlMs: 60_000 });
    const keys = Array.from({ length: 5_000 }, digest);
    keys.forEach((key, i) => {
      now = 1_000 + i;
      table.set(key, i);
    });
    expect(table.size).toBe(5_000);
    keys.forEach((key, i) => {
      expect(table.get(key)).toBe(i);
      expect(table.storedAt(key)).toBe(1_000 + i);
    });
  });

  it('never holds more than its bound, and keeps the entries looked up since the hand passed', () => {
    const bound = 200;
    const table = new DigestTable<number>({ maxEntries: bound, ttlMs: 60_000 });
    const old = Array.from({ length: bound }, digest);
    for (const [i, key] of old.entries()) table.set(key, i);
    const inUse = old.filter((_, i) => i % 3 === 0);
    for (const key of inUse) table.get(key);
    // As many new keys as there are old ones not in use: the hand meets each old entry once at most,
    // evicting those not in use (and new ones it finds ahead of it), so every one in use stays.
    for (let i = 0; i < bound - inUse.length; i++) {
      table.set(digest(), -i);
      expect(table.size).toBe(bound);
    }
    expect(inUse.filter((key) => table.get(key) === undefined)).toHaveLength(0);
    // And a flood of keys seen once never pushes it past its bound.
    for (let i = 0; i < 5 * bound; i++) table.set(digest(), i);
    expect(table.size).toBe(bound);
  });

  it('keeps a key looked up between every new key through a flood of them', () => {
    const table = new DigestTable<string>({ maxEntries: 10, ttlMs: 60_000 });
    const hot = digest();
    table.set(hot, 'hot');
    for (let i = 0; i < 1_000; i++) {
      table.set(digest(), 'cold');
      expect(table.get(hot)).toBe('hot');
    }
  });

  it('treats an entry older than its TTL as gone, and evicts it though it was in use', () => {
    let now = 0;
    vi.spyOn(performance, 'now').mockImplementation(() => now);
    const table = new DigestTable<string>({ maxEntries: 2, ttlMs: 1_000 });
    const [a, b] = [digest(), digest()];
    table.set(a, 'a');
    now = 1_000;
    expect(table.get(a)).toBe('a'); // exactly the TTL old: still there
    now = 1_001;
    expect(table.storedAt(a)).toBe(0);
    expect(table.get(a)).toBeUndefined();
    expect(table.size).toBe(0);

    table.set(a, 'a');
    now = 1_500;
    table.set(b, 'b');
    table.get(a);
    table.get(b);
    // Both in use, but a is past its TTL: a new key takes its place, not b's.
    now = 2_002;
    table.set(digest(), 'c');
    expect(table.size).toBe(2);
    expect(table.storedAt(a)).toBeUndefined();
    expect(table.get(b)).toBe('b');
  });

  it('empties on clear and fills again', () => {
    const table = new DigestTable<number>({ maxEntries: 1_000, ttlMs: 60_000 });
    const keys = Array.from({ length: 1_000 }, digest);
    for (const [i, key] of keys.entries()) table.set(key, i);
    table.clear();
    expect(table.size).toBe(0);
    for (const key of keys) expect(table.get(key)).toBeUndefined();
    for (const [i, key] of keys.entries()) table.set(key, i);
    expect(table.get(keys[999]!)).toBe(999);
  });

  it('works at a bound of one', () => {
    const table = new DigestTable<string>({ maxEntries: 1, ttlMs: 60_000 });
    const [a, b] = [digest(), digest()];
    table.set(a, 'a');
    table.set(b, 'b');
    expect(table.size).toBe(1);
    expect(table.get(a)).toBeUndefined();
    expect(table.get(b)).toBe('b');
  });
});
