import type { KeyRow } from '../../db/schema/index.ts';
import { mayManageKey } from '../keys/authorization.ts';
import { HOUR_MS, type UseSummary } from '../keys/usage.ts';
import { findCutoverSentTimes } from '../store/cutover-store.ts';
import type { DbOrTx } from '../store/database.ts';
import { withDatabaseErrors } from '../store/database-errors.ts';
import { findKeyById, listLiveKeys } from '../store/keys-store.ts';
import { findCurrentSecretsForKeys, findSecretsInGraceForKeys } from '../store/secrets-store.ts';
import { findCanariesLastTried } from './canary-last-tried.ts';
import { clientsOfSecrets, type SecretClients } from './client-uses.ts';
import { CUTOVER_KIND } from './cutover-plan.ts';
import { toKeySummary } from './key-summary.ts';
import { findLiveKeyOrThrow, type KeyRef, UUID } from './resolve-key.ts';
import type { KeySummary, ServiceDeps } from './types.ts';
import { findUnrotatedLeaks, type UnrotatedLeak } from './unrotated-leaks.ts';
import { useSummaries } from './use-summaries.ts';

/** Key rows with their current secret and the old ones still in grace at `now`. */
export async function summariseKeys(db: DbOrTx, rows: KeyRow[], now: Date): Promise<KeySummary[]> {
  const ids = rows.map((k) => k.id);
  const [currents, graces] = await Promise.all([
    findCurrentSecretsForKeys(db, ids),
    findSecretsInGraceForKeys(db, ids, now),
  ]);
  return rows.map((key) =>
    toKeySummary(
      key,
      currents.find((s) => s.keyId === key.id),
      graces.filter((s) => s.keyId === key.id),
      now,
    ),
  );
}

/** Every live key, by name. */
export function listKeys(deps: ServiceDeps): Promise<KeySummary[]> {
  return withDatabaseErrors(async () =>
    summariseKeys(deps.db, await listLiveKeys(deps.db), deps.clock.now()),
  );
}

/** The keys a Slack user may rotate: the ones they maintain, or all of them for an admin. */
export function listKeysManageableBy(deps: ServiceDeps, userId: string): Promise<KeySummary[]> {
  return manageableBy(deps, userId, deps.clock.now());
}

function manageableBy(deps: ServiceDeps, userId: string, now: Date): Promise<KeySummary[]> {
  return withDatabaseErrors(async () => {
    const rows = (await listLiveKeys(deps.db)).filter((key) =>
      mayManageKey(userId, key.maintainers, deps.admins),
    );
    return summariseKeys(deps.db, rows, now);
  });
}

export function showKey(deps: ServiceDeps, ref: KeyRef): Promise<KeySummary> {
  return withDatabaseErrors(async () => {
    const key = await findLiveKeyOrThrow(deps.db, ref);
    const [summary] = await summariseKeys(deps.db, [key], deps.clock.now());
    return summary!;
  });
}

/**
 * What a Slack user's Home shows: the keys they may manage, each working secret's use (is the old key
 * still sent?), the keys reported leaked and not rotated since, whether they are an admin, and when —
 * one instant for all of it.
 */
export async function homeOf(
  deps: ServiceDeps,
  userId: string,
): Promise<{
  keys: KeySummary[];
  uses: Map<string, UseSummary>;
  leaks: Map<string, UnrotatedLeak>;
  /** Canaries' last tries, by key id (never tried: absent). */
  canaryTries: Map<string, Date>;
  /** Old secrets in grace: the clients that presented them within the last hour (their top ones). */
  clients: Map<string, SecretClients>;
  /** Old secrets in grace that rekey said every client had moved off, and when it said so. */
  cutovers: Map<string, Date>;
  isAdmin: boolean;
  now: Date;
}> {
  const now = deps.clock.now();
  const keys = await manageableBy(deps, userId, now);
  const secretIds = keys.flatMap((k) => [
    ...(k.current ? [k.current.id] : []),
    ...k.inGrace.map((s) => s.id),
  ]);
  const oldIds = keys.flatMap((k) => k.inGrace.map((s) => s.id));
  const uses = await withDatabaseErrors(() => useSummaries(deps, secretIds, now));
  const leaks = await withDatabaseErrors(() => findUnrotatedLeaks(deps.db, keys, now));
  const canaryTries = await withDatabaseErrors(() => findCanariesLastTried(deps.db, keys));
  const clients = await withDatabaseErrors(() =>
    clientsOfSecrets(deps, oldIds, now, { activeWithinMs: HOUR_MS, limit: 3 }),
  );
  const cutovers = await withDatabaseErrors(() => findCutoverSentTimes(deps.db, oldIds, CUTOVER_KIND));
  return { keys, uses, leaks, canaryTries, clients, cutovers, isAdmin: deps.admins.includes(userId), now };
}

/**
 * Who may see a key on their Home: the admins and its maintainers. A deleted key's maintainers too, so
 * its card leaves their Home.
 */
export function audienceOf(deps: ServiceDeps, keyId: string): Promise<string[]> {
  return withDatabaseErrors(async () => {
    const key = UUID.test(keyId) ? await findKeyById(deps.db, keyId) : undefined;
    return [...new Set([...deps.admins, ...(key?.maintainers ?? [])])];
  });
}
