import { describe, expect, it } from 'vitest';
import { HOUR_MS, hourStartMs, summariseUse, usesWithin } from '../../src/keys/usage.ts';

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
    expect(summary).toEqual({ lastUsedAt: at('2026-03-01T10:29:00Z'), lastHour: 10, last24h: 30 });
    expect(summariseUse([], null, now)).toEqual({ lastUsedAt: null, lastHour: 0, last24h: 0 });
  });
});
