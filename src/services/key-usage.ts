import { AppError } from '../errors.ts';
import { HOUR_MS, hourlySeries, hourStartMs, SPARKLINE_HOURS, sparkline } from '../keys/usage.ts';
import { findSecretsOfKey } from '../store/secrets-store.ts';
import { findLastUses, findUseHours } from '../store/usage-store.ts';
import { clientsOfSecrets, type SecretClient } from './client-uses.ts';
import { toSecretView } from './key-summary.ts';
import { findLiveKeyOrThrow, type KeyRef } from './resolve-key.ts';
import type { SecretView, ServiceDeps } from './types.ts';
import { USAGE_RETENTION_MS } from './usage-retention.ts';

/** The longest window asked for: hourly counts are kept for 30 days. */
export const MAX_USAGE_HOURS = USAGE_RETENTION_MS / HOUR_MS;
export const DEFAULT_USAGE_HOURS = 24;

export interface HourUse {
  /** Start of the clock hour (UTC). */
  hour: Date;
  uses: number;
  /** Of those, refused as EXPIRED (sent after the secret stopped working). */
  expiredUses: number;
}

export interface SecretHourlyUse extends SecretView {
  /** As the verify API would answer for it now. */
  status: 'active' | 'expiring' | 'expired';
  lastUsedAt: Date | null;
  /** One entry per clock hour of the window, newest first; hours without a call are 0. */
  hours: HourUse[];
  /** The last 24 clock hours at a glance, oldest first (src/keys/usage.ts `sparkline`), whatever the window. */
  sparkline: string;
  /** The busiest of those 24 hours' calls: what the sparkline's tallest bar stands for. */
  peak: number;
  /** With `clients`: who presented it within the window, most calls first (at most 20). */
  clients?: SecretClient[];
  /** With `clients`: how many clients in all. */
  clientCount?: number;
}

/** Clients listed per secret by `keys usage --clients`. */
export const CLIENTS_PER_SECRET = 20;

export interface KeyUsage {
  keyId: string;
  name: string;
  /** The window: `hours` clock hours, the current one (still running) included. */
  hours: number;
  from: Date;
  now: Date;
  /** The working secrets, then the expired ones that were sent within the window; newest first. */
  secrets: SecretHourlyUse[];
}

/**
 * Each secret's calls per clock hour: the answer to "is the old key still used, and by how much?",
 * including after it expired (those calls are refused, and counted as such).
 */
export async function keyUsage(
  deps: Pick<ServiceDeps, 'db' | 'clock'>,
  input: { key: KeyRef; hours?: number; clients?: boolean },
): Promise<KeyUsage> {
  const hours = input.hours ?? DEFAULT_USAGE_HOURS;
  if (!Number.isInteger(hours) || hours < 1 || hours > MAX_USAGE_HOURS) {
    throw new AppError(
      'INVALID_INPUT',
      `the number of hours must be a whole number from 1 to ${MAX_USAGE_HOURS} (hourly counts are kept for 30 days)`,
    );
  }
  const now = deps.clock.now();
  const key = await findLiveKeyOrThrow(deps.db, input.key);
  const secrets = await findSecretsOfKey(deps.db, key.id);
  const currentHour = hourStartMs(now.getTime());
  const from = new Date(currentHour - (hours - 1) * HOUR_MS);
  // The sparkline's 24 hours are read even for a shorter window.
  const readFrom = new Date(Math.min(from.getTime(), currentHour - (SPARKLINE_HOURS - 1) * HOUR_MS));
  const ids = secrets.map((secret) => secret.id);
  const [allRows, lastUses, clients] = await Promise.all([
    findUseHours(deps.db, ids, readFrom),
    findLastUses(deps.db, ids),
    input.clients
      ? clientsOfSecrets(deps, ids, now, {
          windowMs: now.getTime() - from.getTime(),
          limit: CLIENTS_PER_SECRET,
        })
      : undefined,
  ]);
  const rows = allRows.filter((row) => row.hour >= from);
  const byHour = new Map(rows.map((row) => [`${row.secretId}|${row.hour.getTime()}`, row]));
  const sent = new Set(rows.map((row) => row.secretId));

  const listed: SecretHourlyUse[] = [];
  for (const secret of secrets) {
    const status = secret.expiresAt === null ? 'active' : secret.expiresAt > now ? 'expiring' : 'expired';
    if (status === 'expired' && !sent.has(secret.id)) continue;
    const perHour: HourUse[] = [];
    for (let i = 0; i < hours; i++) {
      const hour = currentHour - i * HOUR_MS;
      const row = byHour.get(`${secret.id}|${hour}`);
      perHour.push({ hour: new Date(hour), uses: row?.uses ?? 0, expiredUses: row?.expiredUses ?? 0 });
    }
    const day = hourlySeries(
      allRows.filter((row) => row.secretId === secret.id),
      now,
    );
    const seen = clients?.get(secret.id);
    listed.push({
      ...toSecretView(secret),
      status,
      lastUsedAt: lastUses.get(secret.id) ?? null,
      hours: perHour,
      sparkline: sparkline(day),
      peak: Math.max(0, ...day),
      ...(clients ? { clients: seen?.top ?? [], clientCount: seen?.total ?? 0 } : {}),
    });
  }
  return { keyId: key.id, name: key.name, hours, from, now, secrets: listed };
}
