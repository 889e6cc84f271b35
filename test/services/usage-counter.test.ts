import { describe, expect, it } from 'vitest';
import { UsageCounter } from '../../src/services/usage-counter.ts';
import type { UseCount } from '../../src/store/usage-store.ts';

const ms = (iso: string) => Date.parse(iso);
const plain = (counts: UseCount[]) =>
  counts
    .map((c) => ({
      secretId: c.secretId,
      hour: c.hour.toISOString(),
      uses: c.uses,
      expiredUses: c.expiredUses,
      firstUsedAt: c.firstUsedAt.toISOString(),
      lastUsedAt: c.lastUsedAt.toISOString(),
    }))
    .sort((a, b) => (a.secretId + a.hour < b.secretId + b.hour ? -1 : 1));

describe('usage counter', () => {
  it('counts each secret’s presentations with the first and last time, in the clock hour they fell in', () => {
    const counter = new UsageCounter();
    const a = counter.slotFor('secret-a');
    const b = counter.slotFor('secret-b');
    counter.record(a, ms('2026-03-01T10:05:00Z'), false);
    counter.record(b, ms('2026-03-01T10:06:00Z'), false);
    counter.record(a, ms('2026-03-01T10:40:00Z'), false);
    counter.record(a, ms('2026-03-01T10:20:00Z'), false);
    expect(plain(counter.drain())).toEqual([
      {
        secretId: 'secret-a',
        hour: '2026-03-01T10:00:00.000Z',
        uses: 3,
        expiredUses: 0,
        firstUsedAt: '2026-03-01T10:05:00.000Z',
        lastUsedAt: '2026-03-01T10:40:00.000Z',
      },
      {
        secretId: 'secret-b',
        hour: '2026-03-01T10:00:00.000Z',
        uses: 1,
        expiredUses: 0,
        firstUsedAt: '2026-03-01T10:06:00.000Z',
        lastUsedAt: '2026-03-01T10:06:00.000Z',
      },
    ]);
  });

  it('counts EXPIRED presentations among the uses, and separately', () => {
    const counter = new UsageCounter();
    const old = counter.slotFor('old');
    counter.record(old, ms('2026-03-01T10:00:01Z'), false);
    counter.record(old, ms('2026-03-01T10:00:02Z'), true);
    counter.record(old, ms('2026-03-01T10:00:03Z'), true);
    expect(counter.drain()).toEqual([expect.objectContaining({ uses: 3, expiredUses: 2 })]);
  });

  it('starts afresh after a drain: nothing is returned twice', () => {
    const counter = new UsageCounter();
    const a = counter.slotFor('a');
    counter.record(a, ms('2026-03-01T10:00:00Z'), false);
    counter.record(a, ms('2026-03-01T10:00:01Z'), true);
    expect(counter.drain()).toHaveLength(1);
    expect(counter.drain()).toEqual([]);
    expect(counter.pending).toBe(0);
    counter.record(a, ms('2026-03-01T10:00:09Z'), false);
    expect(plain(counter.drain())).toEqual([
      expect.objectContaining({
        uses: 1,
        expiredUses: 0,
        firstUsedAt: '2026-03-01T10:00:09.000Z',
        lastUsedAt: '2026-03-01T10:00:09.000Z',
      }),
    ]);
  });

  it('splits a slot that straddles an hour boundary into the two hours, exactly', () => {
    const counter = new UsageCounter();
    const a = counter.slotFor('a');
    counter.record(a, ms('2026-03-01T10:59:58Z'), false);
    counter.record(a, ms('2026-03-01T10:59:59.999Z'), true);
    counter.record(a, ms('2026-03-01T11:00:00Z'), false);
    counter.record(a, ms('2026-03-01T11:00:05Z'), false);
    expect(plain(counter.drain())).toEqual([
      {
        secretId: 'a',
        hour: '2026-03-01T10:00:00.000Z',
        uses: 2,
        expiredUses: 1,
        firstUsedAt: '2026-03-01T10:59:58.000Z',
        lastUsedAt: '2026-03-01T10:59:59.999Z',
      },
      {
        secretId: 'a',
        hour: '2026-03-01T11:00:00.000Z',
        uses: 2,
        expiredUses: 0,
        firstUsedAt: '2026-03-01T11:00:00.000Z',
        lastUsedAt: '2026-03-01T11:00:05.000Z',
      },
    ]);
  });

  it('gives back counts whose write failed, added to what was counted meanwhile', () => {
    const counter = new UsageCounter();
    const a = counter.slotFor('a');
    counter.record(a, ms('2026-03-01T10:00:00Z'), false);
    counter.record(a, ms('2026-03-01T10:00:01Z'), true);
    const failed = counter.drain();
    counter.record(a, ms('2026-03-01T10:00:02Z'), false);
    counter.restore(failed);
    expect(plain(counter.drain())).toEqual([
      expect.objectContaining({
        uses: 3,
        expiredUses: 1,
        firstUsedAt: '2026-03-01T10:00:00.000Z',
        lastUsedAt: '2026-03-01T10:00:02.000Z',
      }),
    ]);
  });

  it('holds one entry per secret and hour however many flushes fail in a row', () => {
    const counter = new UsageCounter();
    const slots = ['a', 'b', 'c'].map((id) => counter.slotFor(id));
    for (let flush = 0; flush < 50; flush++) {
      for (const slot of slots) counter.record(slot, ms('2026-03-01T10:00:00Z') + flush, false);
      counter.restore(counter.drain());
    }
    expect(counter.pending).toBe(3);
    expect(counter.drain().map((c) => c.uses)).toEqual([50, 50, 50]);
  });

  it('adds up two slots of one secret (an entry dropped from the cache and cached again)', () => {
    const counter = new UsageCounter();
    const first = counter.slotFor('a');
    const second = counter.slotFor('a');
    counter.record(first, ms('2026-03-01T10:00:00Z'), false);
    counter.record(second, ms('2026-03-01T10:00:01Z'), false);
    expect(counter.drain()).toEqual([expect.objectContaining({ secretId: 'a', uses: 2 })]);
  });

  it('loses no presentation across many flushes, failed writes and hour boundaries', () => {
    const counter = new UsageCounter();
    const ids = Array.from({ length: 20 }, (_, i) => `secret-${i}`);
    const slots = ids.map((id) => counter.slotFor(id));
    const expected = new Map<string, { uses: number; expired: number }>(
      ids.map((id) => [id, { uses: 0, expired: 0 }]),
    );
    const written = new Map<string, { uses: number; expired: number }>(
      ids.map((id) => [id, { uses: 0, expired: 0 }]),
    );
    const perHour = new Map<string, number>();
    let seed = 7;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    // Three hours of traffic, a flush every simulated 10 s, one write in four failing.
    let now = ms('2026-03-01T10:00:00Z');
    let expectedPerHour = 0;
    let outsideTheirHour = 0;
    for (let flush = 0; flush < 3 * 360; flush++) {
      for (let i = 0; i < 40; i++) {
        now += Math.floor(random() * 500);
        const index = Math.floor(random() * slots.length);
        const expired = random() < 0.1;
        counter.record(slots[index]!, now, expired);
        const e = expected.get(ids[index]!)!;
        e.uses++;
        if (expired) e.expired++;
        expectedPerHour++;
      }
      const counts = counter.drain();
      if (random() < 0.25) {
        counter.restore(counts);
        continue;
      }
      for (const c of counts) {
        const w = written.get(c.secretId)!;
        w.uses += c.uses;
        w.expired += c.expiredUses;
        const hour = c.hour.toISOString();
        perHour.set(hour, (perHour.get(hour) ?? 0) + c.uses);
        const inHour = (at: Date) => at >= c.hour && at.getTime() < c.hour.getTime() + 3_600_000;
        if (!inHour(c.firstUsedAt) || !inHour(c.lastUsedAt)) outsideTheirHour++;
      }
    }
    for (const c of counter.drain()) {
      written.get(c.secretId)!.uses += c.uses;
      written.get(c.secretId)!.expired += c.expiredUses;
      perHour.set(c.hour.toISOString(), (perHour.get(c.hour.toISOString()) ?? 0) + c.uses);
    }
    expect(written).toEqual(expected);
    expect(outsideTheirHour).toBe(0);
    expect([...perHour.values()].reduce((a, b) => a + b, 0)).toBe(expectedPerHour);
    expect(perHour.size).toBeGreaterThanOrEqual(2);
  });
});
