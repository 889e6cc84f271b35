import type { Clock } from '../../src/clock.ts';

export interface ManualClock extends Clock {
  set(at: Date | string): void;
  advance(ms: number): void;
}

/** A clock tests move by hand; nothing in rekey reads time any other way. */
export function manualClock(start: Date | string = '2026-01-15T10:00:00.000Z'): ManualClock {
  let current = new Date(start);
  return {
    now: () => new Date(current),
    set: (at) => {
      current = new Date(at);
    },
    advance: (ms) => {
      current = new Date(current.getTime() + ms);
    },
  };
}

export const MINUTE = 60_000;
export const HOUR = 3_600_000;
