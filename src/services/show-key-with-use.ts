import type { Clock } from '../clock.ts';
import { findCanariesLastTried } from './canary-last-tried.ts';
import { clientsOfSecrets, type SecretClient } from './client-uses.ts';
import { showKey } from './list-keys.ts';
import type { KeyRef } from './resolve-key.ts';
import type { KeySummary, SecretView, ServiceDeps } from './types.ts';
import { useSummaries } from './use-summaries.ts';

/** A secret with its use as people read it: last presentation, calls in the last hour and day, by whom. */
export interface SecretWithUse extends SecretView {
  lastUsedAt: Date | null;
  uses: { lastHour: number; last24h: number };
  /** Its top clients over the last 24 hours (at most 10), most calls first. */
  clients: SecretClient[];
  /** How many clients it had in those 24 hours: `clients` lists the top ones. */
  clientCount: number;
}

export interface KeyWithUse extends Omit<KeySummary, 'current' | 'inGrace'> {
  current: SecretWithUse | null;
  inGrace: SecretWithUse[];
  /** Canaries only: when it was last presented or seen leaked (null: never). */
  lastTriedAt?: Date | null;
}

/**
 * One key as `showKey` gives it, each of its working secrets with its use, so whoever is about to end
 * a grace period can see whether the old key is still being sent. Counts are as flushed by every
 * replica so far (at most one REKEY_USAGE_FLUSH behind).
 */
export async function showKeyWithUse(deps: ServiceDeps, ref: KeyRef): Promise<KeyWithUse> {
  // One instant for the whole answer: which secrets are still in grace and their figures agree.
  const now = deps.clock.now();
  const clock: Clock = { now: () => new Date(now) };
  const key = await showKey({ ...deps, clock }, ref);
  const working = key.current ? [key.current, ...key.inGrace] : key.inGrace;
  const ids = working.map((secret) => secret.id);
  const [summaries, clients] = await Promise.all([
    useSummaries({ db: deps.db, clock }, ids, now),
    clientsOfSecrets(deps, ids, now),
  ]);
  const withUse = (secret: SecretView): SecretWithUse => {
    const use = summaries.get(secret.id)!;
    const seen = clients.get(secret.id);
    return {
      ...secret,
      lastUsedAt: use.lastUsedAt,
      uses: { lastHour: use.lastHour, last24h: use.last24h },
      clients: seen?.top ?? [],
      clientCount: seen?.total ?? 0,
    };
  };
  const shown = { ...key, current: key.current && withUse(key.current), inGrace: key.inGrace.map(withUse) };
  if (!key.canary) return shown;
  const tried = await findCanariesLastTried(deps.db, [key]);
  return { ...shown, lastTriedAt: tried.get(key.id) ?? null };
}
