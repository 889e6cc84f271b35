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
  };
}
