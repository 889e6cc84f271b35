import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createInterner,
  recordClient,
  TRACKED_CLIENTS,
  type TrackedClient,
  takeClientCounts,
} from '../../src/services/client-tally.ts';
import { UsageCounter } from '../../src/services/usage-counter.ts';

const HOUR = Date.parse('2026-03-01T10:00:00Z');
const SEED = 20_240_624;

/** Runs a stream of client indexes through one tally; returns what flushes wrote, per client index. */
function tally(stream: readonly number[], flushEvery = Number.POSITIVE_INFINITY) {
  const intern = createInterner();
  let head: TrackedClient | undefined;
  const written = new Map<string, number>();
  const flush = () => {
    for (const c of takeClientCounts(head, HOUR)) written.set(c.ip!, (written.get(c.ip!) ?? 0) + c.uses);
  };
  stream.forEach((client, i) => {
    head = recordClient(head, `10.0.0.${client}`, `agent/${client}`, i, intern);
    if ((i + 1) % flushEvery === 0) flush();
  });
  flush();
  return written;
}

const exact = (stream: readonly number[]) => {
  const counts = new Map<string, number>();
  for (const client of stream) counts.set(`10.0.0.${client}`, (counts.get(`10.0.0.${client}`) ?? 0) + 1);
  return counts;
};

describe('the per-secret client tally (Space-Saving)', () => {
  it(`counts every client exactly when there are at most ${TRACKED_CLIENTS}, however often it is flushed`, () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: TRACKED_CLIENTS }), { maxLength: 400 }),
        fc.integer({ min: 1, max: 50 }),
        (stream, flushEvery) => {
          expect(tally(stream, flushEvery)).toEqual(exact(stream));
        },
      ),
      { seed: SEED, numRuns: 200, verbose: true },
    );
  });

  it(`names every client with more than 2/${TRACKED_CLIENTS} of the calls among many, short by at most 1/${TRACKED_CLIENTS}, and never over-counts`, () => {
    fc.assert(
      fc.property(
        // A few heavy clients hidden in a crowd of one-off callers, in any order.
        fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 100, maxLength: 300 }),
        fc.array(fc.integer({ min: 100, max: 10_000 }), { minLength: 20, maxLength: 200 }),
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.integer({ min: 1, max: 40 }),
        (heavy, crowd, shuffleSeed, flushEvery) => {
          const stream = shuffle([...heavy, ...crowd], shuffleSeed);
          const written = tally(stream, flushEvery);
          const truth = exact(stream);
          const n = stream.length;
          // Never more than a client really made, and never more in all than there were calls.
          for (const [ip, uses] of written) expect(uses).toBeLessThanOrEqual(truth.get(ip)!);
          expect([...written.values()].reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(n);
          for (const [ip, uses] of truth) {
            if (uses <= (2 * n) / TRACKED_CLIENTS) continue;
            expect(written.get(ip), `${ip} made ${uses} of ${n} calls`).toBeGreaterThanOrEqual(
              uses - n / TRACKED_CLIENTS,
            );
          }
        },
      ),
      { seed: SEED, numRuns: 200, verbose: true },
    );
  });

  it('names a client that keeps calling after the list filled up, however many one-off callers come between its calls', () => {
    // Ten steady clients fill the list; then the one that matters calls every other time, between
    // one-off callers: it has a quarter of the calls and must be named, nearly exactly.
    const stream: number[] = [];
    for (let round = 0; round < 100; round++) for (let c = 1; c <= TRACKED_CLIENTS; c++) stream.push(c);
    for (let i = 0; i < 500; i++) stream.push(99, 1_000 + i);
    const written = tally(stream, 7);
    const n = stream.length;
    expect(written.get('10.0.0.99')).toBeGreaterThanOrEqual(500 - n / TRACKED_CLIENTS);
    expect(written.get('10.0.0.99')).toBeLessThanOrEqual(500);
  });

  it(`keeps at most ${TRACKED_CLIENTS} clients per secret, whatever the crowd`, () => {
    const intern = createInterner();
    let head: TrackedClient | undefined;
    for (let i = 0; i < 10_000; i++) head = recordClient(head, `10.1.${i >> 8}.${i & 255}`, null, i, intern);
    let length = 0;
    for (let at = head; at; at = at.next) length++;
    expect(length).toBe(TRACKED_CLIENTS);
  });

  it('counts the gateway’s unknown client as one entry', () => {
    const counter = new UsageCounter();
    const slot = counter.slotFor('secret-a');
    for (let i = 0; i < 4; i++) counter.record(slot, HOUR + i, false);
    counter.record(slot, HOUR + 10, false, '10.0.3.7', 'python-requests/2.31');
    expect(counter.drain()[0]!.clients).toEqual([
      { ip: '10.0.3.7', userAgent: 'python-requests/2.31', uses: 1, lastUsedAt: new Date(HOUR + 10) },
      { ip: null, userAgent: null, uses: 4, lastUsedAt: new Date(HOUR + 3) },
    ]);
  });

  it('writes each client’s calls once, per clock hour, and carries them through a failed write', () => {
    const counter = new UsageCounter();
    const slot = counter.slotFor('secret-a');
    counter.record(slot, HOUR + 1_000, false, '10.0.3.7', 'curl/8');
    counter.record(slot, HOUR + 2_000, false, '10.0.3.7', 'curl/8');
    const first = counter.drain();
    expect(first[0]!.clients).toEqual([
      { ip: '10.0.3.7', userAgent: 'curl/8', uses: 2, lastUsedAt: new Date(HOUR + 2_000) },
    ]);
    // The write failed: given back, then more calls in the same hour and one in the next.
    counter.restore(first);
    counter.record(slot, HOUR + 3_000, false, '10.0.3.7', 'curl/8');
    counter.record(slot, HOUR + 3_600_000 + 5, true, '10.0.3.7', 'curl/8');
    const counts = counter.drain().sort((a, b) => a.hour.getTime() - b.hour.getTime());
    expect(counts.map((c) => [c.hour.getTime() - HOUR, c.clients])).toEqual([
      [0, [{ ip: '10.0.3.7', userAgent: 'curl/8', uses: 3, lastUsedAt: new Date(HOUR + 3_000) }]],
      [3_600_000, [{ ip: '10.0.3.7', userAgent: 'curl/8', uses: 1, lastUsedAt: new Date(HOUR + 3_600_005) }]],
    ]);
    expect(counter.drain()).toEqual([]);
  });
});

/** A seeded Fisher–Yates shuffle (fast-check gives the seed). */
function shuffle<T>(items: T[], seed: number): T[] {
  let state = seed;
  const next = () => {
    state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
    return state / 2 ** 32;
  };
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}
