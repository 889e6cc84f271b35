import { describe, expect, it } from 'vitest';
import { batchPerTurn } from '../../src/services/batch-per-turn.ts';

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('batchPerTurn', () => {
  it('runs what one turn asked for in one call, in order, and hands each caller its own result', async () => {
    const calls: number[][] = [];
    const double = batchPerTurn(async (items: readonly number[]) => {
      calls.push([...items]);
      return items.map((n) => n * 2);
    });
    const results = await Promise.all([3, 1, 2].map(double));
    expect(results).toEqual([6, 2, 4]);
    expect(calls).toEqual([[3, 1, 2]]);
  });

  it('waits for the end of the turn, not for a timer', async () => {
    const calls: number[][] = [];
    const echo = batchPerTurn(async (items: readonly number[]) => {
      calls.push([...items]);
      return items;
    });
    const pending = echo(1);
    await Promise.resolve();
    expect(calls).toEqual([]); // still this turn: nothing sent yet
    await nextTurn();
    expect(calls).toEqual([[1]]);
    expect(await pending).toBe(1);
  });

  it('splits a turn larger than maxBatch into several calls', async () => {
    const sizes: number[] = [];
    const echo = batchPerTurn(
      async (items: readonly number[]) => {
        sizes.push(items.length);
        return items;
      },
      { maxBatch: 4 },
    );
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => echo(i)));
    expect(results).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(sizes).toEqual([4, 4, 2]);
  });

  it("rejects only the failed batch's callers, whether run throws or its promise rejects", async () => {
    let mode: 'throw' | 'reject' | 'ok' = 'throw';
    const echo = batchPerTurn((items: readonly string[]) => {
      if (mode === 'throw') throw new Error('thrown');
      if (mode === 'reject') return Promise.reject(new Error('rejected'));
      return Promise.resolve(items);
    });
    await expect(Promise.all([echo('a'), echo('b')])).rejects.toThrow('thrown');
    mode = 'reject';
    const failed = await Promise.allSettled([echo('c'), echo('d')]);
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    mode = 'ok';
    expect(await Promise.all([echo('e'), echo('f')])).toEqual(['e', 'f']);
  });

  it('puts what is asked for while a batch runs into the next batch', async () => {
    const calls: string[][] = [];
    let release: () => void = () => {};
    const echo = batchPerTurn(async (items: readonly string[]) => {
      calls.push([...items]);
      if (calls.length === 1) await new Promise<void>((resolve) => (release = resolve));
      return items;
    });
    const first = echo('first');
    await nextTurn();
    const second = echo('second');
    await nextTurn();
    expect(calls).toEqual([['first'], ['second']]);
    expect(await second).toBe('second');
    release();
    expect(await first).toBe('first');
  });
});
