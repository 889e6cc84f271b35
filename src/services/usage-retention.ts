import { HOUR_MS, hourStartMs } from '../keys/usage.ts';
import { dropUseHoursBefore } from '../store/usage-store.ts';
import type { ServiceDeps } from './types.ts';

/** How long hourly use counts are kept. Each secret's last use is kept for as long as the secret. */
export const USAGE_RETENTION_MS = 30 * 24 * HOUR_MS;

/**
 * Drops the hourly counts that lie wholly more than 30 days back: an hour only partly past the line is
 * kept, so "the last 30 days" never loses its oldest minutes. Idempotent: replicas may all run it.
 */
export async function dropOldUseHours(
  deps: Pick<ServiceDeps, 'db' | 'clock'>,
): Promise<{ dropped: number; before: Date }> {
  const before = new Date(hourStartMs(deps.clock.now().getTime() - USAGE_RETENTION_MS));
  return { dropped: await dropUseHoursBefore(deps.db, before), before };
}
