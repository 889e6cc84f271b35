import { mayManageKey } from '../keys/authorization.ts';
import { withDatabaseErrors } from '../store/database-errors.ts';
import { findDeletedKeyByName, findLiveKeyByName } from '../store/keys-store.ts';
import {
  isAdminOnly,
  type KeyAction,
  noKeyOfYours,
  notAdmin,
  notAMaintainer,
  notMaintainer,
} from './authorize.ts';
import { canaryRefusal } from './canary-refusals.ts';
import { summariseKeys } from './list-keys.ts';
import { findLiveKeyOrThrow, type KeyRef, keyDeleted } from './resolve-key.ts';
import type { KeySummary, ServiceDeps } from './types.ts';

export interface KeyToManageInput {
  userId: string;
  key: KeyRef;
  action: KeyAction;
  /**
   * The person was not shown the key as theirs (a leak alert's button, pressed by anyone in the
   * channel): a refusal names who may act instead of saying "no longer a maintainer".
   */
  stranger?: boolean;
}

/**
 * The key as it is now, if this Slack user may manage it; otherwise the one refusal, with what to do.
 * Read afresh on every press and every step, so a stale Home or dialog cannot reach a key the person
 * no longer maintains (the change itself checks again inside its transaction).
 *
 * By id (a card, a dialog: the person was shown the key): "no longer a maintainer", naming who is;
 * for what only admins may do (delete), "only admins".
 * By name (typed): the same answer for a key that is not theirs, deleted or never existed, so names
 * cannot be probed; admins, who see every key, and maintainers of a deleted key are told the truth.
 */
export function keyToManage(deps: ServiceDeps, input: KeyToManageInput): Promise<KeySummary> {
  return withDatabaseErrors(async () => {
    const { userId, key: ref, action } = input;
    // Before any lookup: the answer is the same for every key, so it tells nothing about which exist.
    if (isAdminOnly(action) && !deps.admins.includes(userId)) throw notAdmin(action);
    const may = (maintainers: readonly string[]) => mayManageKey(userId, maintainers, deps.admins);
    if ('name' in ref) {
      const live = await findLiveKeyByName(deps.db, ref.name);
      if (!(live && may(live.maintainers))) {
        if (deps.admins.includes(userId)) await findLiveKeyOrThrow(deps.db, ref);
        const deleted = live ? undefined : await findDeletedKeyByName(deps.db, ref.name);
        if (deleted?.maintainers.includes(userId)) throw keyDeleted(deleted.name);
        throw noKeyOfYours(ref.name, action);
      }
      refuseForCanary(live, action);
      return (await summariseKeys(deps.db, [live], deps.clock.now()))[0]!;
    }
    const key = await findLiveKeyOrThrow(deps.db, ref);
    if (!may(key.maintainers))
      throw input.stranger ? notAMaintainer(key, action) : notMaintainer(key, action);
    refuseForCanary(key, action);
    return (await summariseKeys(deps.db, [key], deps.clock.now()))[0]!;
  });
}

/** Told when the dialog opens, to someone who may manage the canary: it is never rotated. */
function refuseForCanary(key: { name: string; canary: boolean }, action: KeyAction): void {
  if (key.canary && (action === 'rotate' || action === 'end-grace')) throw canaryRefusal(key.name, action);
}
