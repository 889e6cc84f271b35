import type { KeyRow } from '../../db/schema/index.ts';
import { AppError } from '../errors.ts';
import type { DbOrTx } from '../store/database.ts';
import { findDeletedKeyByName, findKeyById, findLiveKeyByName } from '../store/keys-store.ts';

/** A key id's shape: anything else is no key, and must not reach a uuid column as a query error. */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** How callers name a key: by its name (CLI, `/rotate-key name`) or its id (modal state). */
export type KeyRef = { name: string } | { id: string };

export function keyNotFound(ref: KeyRef): AppError {
  const label = 'name' in ref ? `"${ref.name}"` : 'that key';
  return new AppError('KEY_NOT_FOUND', `No key named ${label}`, {
    userMessage: `There is no key ${'name' in ref ? `named ${label}` : 'like that any more'}. Check the name, or list the keys you maintain.`,
  });
}

export function keyDeleted(name: string): AppError {
  return new AppError('KEY_DELETED', `Key "${name}" has been deleted`, {
    userMessage: `The key "${name}" has been deleted, so it cannot be rotated.`,
  });
}

/** Finds a live key by name; says "deleted" rather than "not found" when that is the truth. */
export async function findLiveKeyOrThrow(db: DbOrTx, ref: KeyRef): Promise<KeyRow> {
  // Ids come back from Slack payloads: anything not shaped like one is no key, not a database error.
  if ('id' in ref && !UUID.test(ref.id)) throw keyNotFound(ref);
  const key = 'name' in ref ? await findLiveKeyByName(db, ref.name) : await findKeyById(db, ref.id);
  if (!key) {
    if ('name' in ref) {
      const deleted = await findDeletedKeyByName(db, ref.name);
      if (deleted) throw keyDeleted(deleted.name);
    }
    throw keyNotFound(ref);
  }
  if (key.deletedAt) throw keyDeleted(key.name);
  return key;
}
