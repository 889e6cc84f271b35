/**
 * Usage is counted per clock hour (UTC). These rules turn hourly counts into what people read on a key
 * card and in the CLI. Pure: the instant comes from the caller's clock.
 */

export const HOUR_MS = 3_600_000;

/** Start of the clock hour (UTC) that `ms` falls in. */
export function hourStartMs(ms: number): number {
  return ms - (((ms % HOUR_MS) + HOUR_MS) % HOUR_MS);
}

export interface HourlyUses {
  /** Start of the clock hour. */
  hour: Date;
  uses: number;
}

export interface UseSummary {
  /** The last time the secret was presented (valid or EXPIRED), or null if never. */
  lastUsedAt: Date | null;
  /** Presentations in the 60 minutes before `now`. */
  lastHour: number;
  /** Presentations in the 24 hours before `now`. */
  last24h: number;
  /** Presentations per clock hour over the last 24, oldest first, the current hour last (for `sparkline`). */
  hourly?: number[];
}

/** The 24 clock hours a sparkline shows. */
export const SPARKLINE_HOURS = 24;

/**
 * Counts per clock hour, `count` of them ending with the hour `now` falls in, oldest first; hours
 * without a row are 0.
 */
export function hourlySeries(hours: readonly HourlyUses[], now: Date, count = SPARKLINE_HOURS): number[] {
  const last = hourStartMs(now.getTime());
  const series = new Array<number>(count).fill(0);
  for (const { hour, uses } of hours) {
    const index = count - 1 - (last - hour.getTime()) / HOUR_MS;
    if (Number.isInteger(index) && index >= 0 && index < count) series[index] = (series[index] ?? 0) + uses;
  }
  return series;
}

const BARS = '▁▂▃▄▅▆▇█';
/** An hour without a single call: distinct from the lowest bar, which means "a few". */
export const NO_CALLS = '·';

/**
 * One character per count, oldest first: `·` for none, else a bar from `▁` to `█` in proportion to
 * the largest count of the series (so each line shows its own shape, whatever its scale; the caller
 * prints the peak beside it). Any count above zero gets at least `▁`.
 */
export function sparkline(counts: readonly number[]): string {
  const peak = Math.max(0, ...counts);
  let line = '';
  for (const count of counts) {
    if (count <= 0) line += NO_CALLS;
    else line += BARS[Math.min(BARS.length - 1, Math.ceil((count / peak) * BARS.length) - 1)];
  }
  return line;
}

/**
 * Presentations within `windowMs` before `now`, from whole-hour buckets. The hours entirely inside the
 * window count fully; the one hour that straddles its start counts for the part of it inside the window
 * (uses spread evenly over that hour), so "the last hour" never doubles into "the last two hours" just
 * after the clock strikes. With every use in the current hour the figure is exact.
 */
export function usesWithin(hours: readonly HourlyUses[], now: Date, windowMs: number): number {
  const nowMs = now.getTime();
  const windowStart = nowMs - windowMs;
  let total = 0;
  for (const { hour, uses } of hours) {
    const start = hour.getTime();
    const end = start + HOUR_MS;
    if (end <= windowStart || start > nowMs) continue;
    if (start >= windowStart) total += uses;
    else total += (uses * (end - windowStart)) / HOUR_MS;
  }
  return Math.round(total);
}

export function summariseUse(hours: readonly HourlyUses[], lastUsedAt: Date | null, now: Date): UseSummary {
  return {
    lastUsedAt,
    lastHour: usesWithin(hours, now, HOUR_MS),
    last24h: usesWithin(hours, now, 24 * HOUR_MS),
    hourly: hourlySeries(hours, now),
  };
}
