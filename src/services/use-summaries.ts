import { HOUR_MS, summariseUse, type UseSummary } from '../keys/usage.ts';
import { findLastUses, findUseHours } from '../store/usage-store.ts';
import type { ServiceDeps } from './types.ts';

/**
 * Each secret's use as people read it (last use, calls in the last hour and day), from what every
 * replica has flushed so far. Secrets never presented get `lastUsedAt: null` and zeros.
 */
export async function useSummaries(
  deps: Pick<ServiceDeps, 'db' | 'clock'>,
  secretIds: readonly string[],
  now: Date = deps.clock.now(),
): Promise<Map<string, UseSummary>> {
  const since = new Date(now.getTime() - 25 * HOUR_MS);
  const [hours, lastUses] = await Promise.all([
    findUseHours(deps.db, secretIds, since),
    findLastUses(deps.db, secretIds),
  ]);
  const bySecret = new Map<string, { hour: Date; uses: number }[]>();
  for (const row of hours) {
    const list = bySecret.get(row.secretId) ?? [];
    if (list.length === 0) bySecret.set(row.secretId, list);
    list.push({ hour: row.hour, uses: row.uses });
  }
  return new Map(
    secretIds.map((id) => [id, summariseUse(bySecret.get(id) ?? [], lastUses.get(id) ?? null, now)]),
  );
}
