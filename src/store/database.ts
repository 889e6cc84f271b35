import type { PGlite } from '@electric-sql/pglite';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import type { Sql } from 'postgres';
import type * as schema from '../../db/schema/index.ts';

export type Schema = typeof schema;

/** One type for both drivers, so every store function runs on PGlite and on PostgreSQL alike. */
export type Db = PgDatabase<PgQueryResultHKT, Schema>;

/** A handle or a transaction: store functions take either, so callers decide the transaction. */
export type DbOrTx = Db;

export interface ListenerEvents {
  onnotify(channel: string, payload: string): void;
  onclose(): void;
}

export interface Database {
  db: Db;
  driver: 'pglite' | 'postgres';
  /** Raw clients, for what Drizzle does not cover (LISTEN/NOTIFY). */
  pglite?: PGlite;
  sql?: Sql;
  /** The embedded database's folder was made by this open (it held no database before). */
  created?: boolean;
  /**
   * Real PostgreSQL: a new client of one connection for LISTEN, which reports each notification and
   * its connection's closing (LISTEN ends with it). Each attempt gets a fresh one.
   */
  openListener?: (events?: ListenerEvents) => Sql;
  /** Cheap round trip for /readyz. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Raw `execute()` answers `{rows}` on PGlite and an array on postgres.js; this reads both. */
export function rowsOf<T>(result: unknown): T[] {
  if (Array.isArray(result)) return result as T[];
  return ((result as { rows?: T[] }).rows ?? []) as T[];
}
