import { and, asc, desc, eq, gt, inArray, isNull, sql } from 'drizzle-orm';
import { keys, type SecretRow, secrets } from '../../db/schema/index.ts';
import type { Db, DbOrTx } from './database.ts';

export type NewSecret = typeof secrets.$inferInsert;

export async function insertSecret(tx: DbOrTx, values: NewSecret): Promise<SecretRow> {
  const [row] = await tx.insert(secrets).values(values).returning();
  return row!;
}

export async function findCurrentSecret(db: DbOrTx, keyId: string): Promise<SecretRow | undefined> {
  const [row] = await db
    .select()
    .from(secrets)
    .where(and(eq(secrets.keyId, keyId), isNull(secrets.expiresAt)))
    .limit(1);
  return row;
}

/** Old secrets still working at `now`, soonest expiry first. */
export async function findSecretsInGrace(db: DbOrTx, keyId: string, now: Date): Promise<SecretRow[]> {
  return db
    .select()
    .from(secrets)
    .where(and(eq(secrets.keyId, keyId), gt(secrets.expiresAt, now)))
    .orderBy(asc(secrets.expiresAt));
}

/** Same as above for many keys at once (listing), one query. */
export async function findSecretsInGraceForKeys(
  db: DbOrTx,
  keyIds: string[],
  now: Date,
): Promise<SecretRow[]> {
  if (keyIds.length === 0) return [];
  return db
    .select()
    .from(secrets)
    .where(and(inArray(secrets.keyId, keyIds), gt(secrets.expiresAt, now)))
    .orderBy(asc(secrets.expiresAt));
}

export async function findCurrentSecretsForKeys(db: DbOrTx, keyIds: string[]): Promise<SecretRow[]> {
  if (keyIds.length === 0) return [];
  return db
    .select()
    .from(secrets)
    .where(and(inArray(secrets.keyId, keyIds), isNull(secrets.expiresAt)));
}

export async function findSecretsOfKey(db: DbOrTx, keyId: string): Promise<SecretRow[]> {
  return db.select().from(secrets).where(eq(secrets.keyId, keyId)).orderBy(desc(secrets.createdAt));
}

/** Only ever called with an earlier expiry; the database trigger refuses anything else. */
export async function setSecretExpiry(tx: DbOrTx, secretId: string, expiresAt: Date): Promise<void> {
  await tx.update(secrets).set({ expiresAt }).where(eq(secrets.id, secretId));
}

export interface VerificationRow {
  secretId: string;
  keyId: string;
  name: string;
  products: string[];
  expiresAt: Date | null;
  deletedAt: Date | null;
}

/** What a verification reads about a secret and its key. */
const verificationColumns = {
  secretId: secrets.id,
  keyId: secrets.keyId,
  name: keys.name,
  products: keys.products,
  expiresAt: secrets.expiresAt,
  deletedAt: keys.deletedAt,
};

/** A verification row with the hash it was found by, so a batch's answers can be matched back. */
export interface VerificationRowByHash extends VerificationRow {
  hash: string;
}

/**
 * The verify path's one query: hash → secret + key for many hashes at once (`hash = any($1)`, by the
 * unique hash index), prepared once per database handle (preparing is the largest speed lever measured). The verify cache sends the misses of one event-loop turn in
 * one round trip: per miss, one query each cost the process more than the whole verification (a
 * socket write that wakes a database backend, driver bookkeeping, a timer), which capped cold keys.
 * At most one row per hash (the index is unique); hashes with no live row are simply absent.
 */
export function prepareVerificationLookupMany(
  db: Db,
): (hashes: readonly string[]) => Promise<VerificationRowByHash[]> {
  const statement = verificationLookupManyQuery(db).prepare('rekey_verify_lookup_many');
  return (hashes) => statement.execute({ hashes: [...hashes] });
}

/**
 * The query behind prepareVerificationLookupMany (its plan is tested to use the unique hash index). A
 * canary's secret is never found here: it is answered from memory before any lookup (canary-watch.ts),
 * and should one reach the database anyway (a replica that has not heard of it yet) it is an unknown key.
 */
export function verificationLookupManyQuery(db: Db) {
  return db
    .select({ hash: secrets.hash, ...verificationColumns })
    .from(secrets)
    .innerJoin(keys, eq(keys.id, secrets.keyId))
    .where(sql`${secrets.hash} = any(${sql.placeholder('hashes')}::text[]) and not ${keys.canary}`);
}
