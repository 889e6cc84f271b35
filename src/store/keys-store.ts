import { and, asc, eq, isNull } from 'drizzle-orm';
import { type KeyRow, keys } from '../../db/schema/index.ts';
import type { DbOrTx } from './database.ts';

export type NewKey = typeof keys.$inferInsert;

export async function insertKey(db: DbOrTx, values: NewKey): Promise<KeyRow> {
  const [row] = await db.insert(keys).values(values).returning();
  return row!;
}

export async function findLiveKeyByName(db: DbOrTx, name: string): Promise<KeyRow | undefined> {
  const [row] = await db
    .select()
    .from(keys)
    .where(and(eq(keys.name, name), isNull(keys.deletedAt)))
    .limit(1);
  return row;
}

export async function findKeyById(db: DbOrTx, id: string): Promise<KeyRow | undefined> {
  const [row] = await db.select().from(keys).where(eq(keys.id, id)).limit(1);
  return row;
}

export async function findDeletedKeyByName(db: DbOrTx, name: string): Promise<KeyRow | undefined> {
  const [row] = await db.select().from(keys).where(eq(keys.name, name)).limit(1);
  return row?.deletedAt ? row : undefined;
}

/**
 * Locks the key row (`FOR UPDATE`) for the rest of the transaction: concurrent rotations of one key
 * queue here, so each sees the secret the previous one made current. Deleted keys are returned too,
 * so the caller can say "deleted" rather than "not found".
 */
export async function lockKeyById(tx: DbOrTx, id: string): Promise<KeyRow | undefined> {
  const [row] = await tx.select().from(keys).where(eq(keys.id, id)).limit(1).for('update');
  return row;
}

export async function listLiveKeys(db: DbOrTx): Promise<KeyRow[]> {
  return db.select().from(keys).where(isNull(keys.deletedAt)).orderBy(asc(keys.name));
}

export async function markKeyRotated(tx: DbOrTx, id: string, at: Date): Promise<void> {
  await tx.update(keys).set({ lastRotatedAt: at }).where(eq(keys.id, id));
}

export async function markKeyDeleted(tx: DbOrTx, id: string, at: Date): Promise<void> {
  await tx.update(keys).set({ deletedAt: at }).where(eq(keys.id, id));
}

export type KeyFieldChanges = Partial<
  Pick<NewKey, 'name' | 'products' | 'maintainers' | 'alertChannel' | 'rotateEveryDays' | 'onLeak'>
>;

/** Changes what people set on a key (never its secrets); returns the row as it now is. */
export async function updateKeyFields(tx: DbOrTx, id: string, changes: KeyFieldChanges): Promise<KeyRow> {
  const [row] = await tx.update(keys).set(changes).where(eq(keys.id, id)).returning();
  return row!;
}

/** The key's rotation policy in days, or null for none (trigger `keys_replan_policy_notices` re-plans). */
export async function setKeyRotationPolicy(tx: DbOrTx, id: string, days: number | null): Promise<KeyRow> {
  const [row] = await tx.update(keys).set({ rotateEveryDays: days }).where(eq(keys.id, id)).returning();
  return row!;
}
