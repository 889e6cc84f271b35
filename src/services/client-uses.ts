import { HOUR_MS } from '../keys/usage.ts';
import { findClientUses } from '../store/usage-store.ts';
import type { ServiceDeps } from './types.ts';

/** One client of a secret as people read it (`keys show --json`'s `clients` entries). */
export interface SecretClient {
  /** IP literal; null when the gateway passed none (with userAgent null too: the "unknown client"). */
  ip: string | null;
  userAgent: string | null;
  uses: number;
  lastUsedAt: Date;
}

export interface SecretClients {
  /** The most frequent clients first (then the most recent), at most the limit asked for. */
  top: SecretClient[];
  /** How many clients were seen in all: `total - top.length` more. */
  total: number;
}

export const DEFAULT_CLIENTS_SHOWN = 10;

/**
 * Who presented each of these secrets within `windowMs` before `now` (whole clock hours: the hour the
 * window starts in counts), as every replica flushed it: the secrets' top clients by uses. A client
 * only counts if its last use falls in the window; `activeWithinMs` narrows that further (the card's
 * "still used by": clients seen in the last hour). Secrets without any are absent.
 */
export async function clientsOfSecrets(
  deps: Pick<ServiceDeps, 'db'>,
  secretIds: readonly string[],
  now: Date,
  options: { windowMs?: number; limit?: number; activeWithinMs?: number } = {},
): Promise<Map<string, SecretClients>> {
  const windowMs = options.windowMs ?? 24 * HOUR_MS;
  const limit = options.limit ?? DEFAULT_CLIENTS_SHOWN;
  const since = new Date(now.getTime() - windowMs);
  const activeSince = now.getTime() - (options.activeWithinMs ?? windowMs);
  const rows = await findClientUses(deps.db, secretIds, since);
  const bySecret = new Map<string, SecretClients>();
  for (const { secretId, ...client } of rows) {
    if (client.lastUsedAt.getTime() < activeSince) continue;
    let entry = bySecret.get(secretId);
    if (!entry) {
      entry = { top: [], total: 0 };
      bySecret.set(secretId, entry);
    }
    entry.total += 1;
    // Rows come most uses first: the first `limit` are the top ones.
    if (entry.top.length < limit) entry.top.push(client);
  }
  return bySecret;
}
