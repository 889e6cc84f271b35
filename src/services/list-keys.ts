import type { KeyRow } from '../../db/schema/index.ts';
import { mayManageKey } from '../keys/authorization.ts';
import { listLiveKeys } from '../store/keys-store.ts';
import { findCurrentSecretsForKeys, findSecretsInGraceForKeys } from '../store/secrets-store.ts';
import { toKeySummary } from './key-summary.ts';
import { findLiveKeyOrThrow, type KeyRef } from './resolve-key.ts';
import type { KeySummary, ServiceDeps } from './types.ts';

async function summarise(deps: ServiceDeps, rows: KeyRow[]): Promise<KeySummary[]> {
  const now = deps.clock.now();
  const ids = rows.map((k) => k.id);
  const [currents, graces] = await Promise.all([
    findCurrentSecretsForKeys(deps.db, ids),
    findSecretsInGraceForKeys(deps.db, ids, now),
  ]);
  return rows.map((key) =>
    toKeySummary(
      key,
      currents.find((s) => s.keyId === key.id),
      graces.filter((s) => s.keyId === key.id),
    ),
  );
}

/** Every live key, by name. */
export async function listKeys(deps: ServiceDeps): Promise<KeySummary[]> {
  return summarise(deps, await listLiveKeys(deps.db));
}

/** The keys a Slack user may rotate: the ones they maintain, or all of them for an admin. */
export async function listKeysManageableBy(deps: ServiceDeps, userId: string): Promise<KeySummary[]> {
  const rows = (await listLiveKeys(deps.db)).filter((key) =>
    mayManageKey(userId, key.maintainers, deps.admins),
  );
  return summarise(deps, rows);
}

export async function showKey(deps: ServiceDeps, ref: KeyRef): Promise<KeySummary> {
  const key = await findLiveKeyOrThrow(deps.db, ref);
  const [summary] = await summarise(deps, [key]);
  return summary!;
}
