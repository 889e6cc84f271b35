import { describe, expect, it } from 'vitest';
import {
  HOUR_MS,
  hourlySeries,
  hourStartMs,
  sparkline,
  summariseUse,
  usesWithin,
} from '../../src/keys/usage.ts';

const at = (iso: string) => new Date(iso);

describe('usage per clock hour', () => {
  it('puts an instant in the clock hour it falls in', () => {
    expect(new Date(hourStartMs(Date.parse('2026-03-01T10:59:59.999Z'))).toISOString()).toBe(
      '2026-03-01T10:00:00.000Z',
    );
    expect(new Date(hourStartMs(Date.parse('2026-03-01T11:00:00.000Z'))).toISOString()).toBe(
      '2026-03-01T11:00:00.000Z',
    );
  });

  it('counts every use of the current hour as within the last hour', () => {
    const hours = [{ hour: at('2026-03-01T10:00:00Z'), uses: 1204 }];
    expect(usesWithin(hours, at('2026-03-01T10:40:00Z'), HOUR_MS)).toBe(1204);
  });

  it('counts only the part of the previous hour that lies within the last 60 minutes', () => {
    const hours = [
      { hour: at('2026-03-01T10:00:00Z'), uses: 100 },
      { hour: at('2026-03-01T09:00:00Z'), uses: 600 },
    ];
    // 10:15: the last hour is 09:15–10:15, i.e. 45 of the 60 minutes of the 09:00 hour.
    expect(usesWithin(hours, at('2026-03-01T10:15:00Z'), HOUR_MS)).toBe(100 + 450);
  });

  it('leaves out hours entirely before the window and hours after now', () => {
    const hours = [
      { hour: at('2026-03-01T07:00:00Z'), uses: 999 },
      { hour: at('2026-03-01T11:00:00Z'), uses: 5 },
    ];
    expect(usesWithin(hours, at('2026-03-01T10:00:00Z'), HOUR_MS)).toBe(0);
  });

  it('summarises last use, the last hour and the last day', () => {
    const now = at('2026-03-01T10:30:00Z');
    const hours = [
      { hour: at('2026-03-01T10:00:00Z'), uses: 10 },
      { hour: at('2026-03-01T05:00:00Z'), uses: 20 },
      { hour: at('2026-02-28T09:00:00Z'), uses: 40 },
    ];
    const summary = summariseUse(hours, at('2026-03-01T10:29:00Z'), now);
    // The day window starts 2026-02-28T10:30: half of the 09:00 hour of the 28th is outside it.
    expect(summary).toMatchObject({ lastUsedAt: at('2026-03-01T10:29:00Z'), lastHour: 10, last24h: 30 });
    expect(summariseUse([], null, now)).toMatchObject({ lastUsedAt: null, lastHour: 0, last24h: 0 });
    // The last 24 clock hours, oldest first, the current one last; the 28th's 09:00 is 25 hours back.
    expect(summary.hourly).toHaveLength(24);
    expect(summary.hourly!.at(-1)).toBe(10);
    expect(summary.hourly!.at(-6)).toBe(20);
    expect(summary.hourly!.reduce((a, b) => a + b, 0)).toBe(30);
  });
});

describe('the 24-hour sparkline', () => {
  it('draws known hourly counts as bars scaled to the busiest hour, with · for an hour without calls', () => {
    expect(sparkline([0, 1, 2, 3, 4, 5, 6, 7, 8])).toBe('·▁▂▃▄▅▆▇█');
    // An old key fading out against the new one rising: each line scaled to its own peak.
    expect(sparkline([1200, 1100, 900, 600, 300, 40, 0, 0])).toBe('██▆▄▂▁··');
    expect(sparkline([0, 0, 50, 400, 900, 1240, 1240, 1180])).toBe('··▁▃▆███');
    // Any call at all shows, however small beside the peak.
    expect(sparkline([1, 100_000])).toBe('▁█');
    expect(sparkline([0, 0, 0])).toBe('···');
  });

  it('puts each hour’s count in its place over the last 24 clock hours, oldest first', () => {
    const now = at('2026-03-01T10:30:00Z');
    const series = hourlySeries(
      [
        { hour: at('2026-03-01T10:00:00Z'), uses: 7 },
        { hour: at('2026-03-01T08:00:00Z'), uses: 3 },
        { hour: at('2026-02-28T11:00:00Z'), uses: 5 },
        // 24 hours back: just outside the window.
        { hour: at('2026-02-28T10:00:00Z'), uses: 99 },
      ],
      now,
    );
    expect(series).toEqual([5, ...new Array(20).fill(0), 3, 0, 7]);
    expect(sparkline(series)).toBe(`▆${'·'.repeat(20)}▄·█`);
  });
});
