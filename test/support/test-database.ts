import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/pglite';
import postgres from 'postgres';
import { inject } from 'vitest';
import * as schema from '../../db/schema/index.ts';
import type { Database } from '../../src/store/database.ts';
import { openPglite } from '../../src/store/open-pglite.ts';
import { openPostgres } from '../../src/store/open-postgres.ts';
import { templateReady } from './template-ready.ts';

/** Set in .ci/run (and by anyone with a server): the suite then runs on real PostgreSQL too. */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL?.trim() || undefined;
export const onRealPostgres = TEST_DATABASE_URL !== undefined;

export interface TestDatabase extends Database {
  /** A URL other processes can open (real PostgreSQL only). */
  url?: string;
}

/**
 * A fresh, migrated database for one test file: a copy of the PGlite template, or a new database on
 * the server named by TEST_DATABASE_URL (dropped on close), so files and parallel runs never share state.
 */
export async function openTestDatabase(options: { max?: number } = {}): Promise<TestDatabase> {
  if (!TEST_DATABASE_URL) return checkOutPglite();
  const name = `rekey_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const admin = postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  const database = await openPostgres(url.toString(), options);
  return {
    ...database,
    url: url.toString(),
    close: async () => {
      await database.close();
      await admin.unsafe(`drop database if exists "${name}" with (force)`);
      await admin.end({ timeout: 5 });
    },
  };
}

/*
 * Loading the template costs a PGlite start (over a second of CPU) per test file. Test files run one
 * after another in each worker (vitest `isolate: false`), so a closed database is emptied back to the
 * template's state and handed to the worker's next file instead: every table emptied, sequences
 * restarted, and its schema, migrations and session settings compared with the template's. Anything a
 * file changed that emptying cannot undo (a trigger of its own, a deleted migration row) fails that
 * comparison, and that instance is closed instead of reused.
 */

/** One loaded template per worker, read once. */
let template: Blob | undefined;
/** The schema fingerprint of an untouched template copy (see `fingerprintOf`). */
let templateFingerprint: string | undefined;
/** An emptied instance waiting for the next file in this worker. */
let spare: PGlite | undefined;

async function loadTemplate(): Promise<PGlite> {
  if (template === undefined) {
    await templateReady();
    template = new Blob([readFileSync(inject('pgliteTemplate'))]);
  }
  const database = await openPglite('memory://', { loadDataDir: template });
  const client = database.pglite!;
  templateFingerprint ??= await fingerprintOf(client);
  return client;
}

async function checkOutPglite(): Promise<TestDatabase> {
  const client = spare ?? (await loadTemplate());
  spare = undefined;
  const handle = checkout(client);
  const db = drizzle(handle.client, { schema });
  return {
    db,
    driver: 'pglite',
    pglite: handle.client,
    created: false,
    ping: async () => {
      await db.execute(sql`select 1`);
    },
    close: async () => {
      if (!handle.end()) return;
      await handle.unlistenAll();
      if (spare === undefined && (await emptied(client))) spare = client;
      else await client.close();
    },
  };
}

/**
 * The instance as one test file sees it: after that file closes it, every call fails as on a closed
 * PGlite (so a timer the file left running cannot write into the next file's data), and the LISTENs
 * it opened are taken back.
 */
function checkout(target: PGlite) {
  let open = true;
  const unlistens = new Set<() => Promise<void>>();
  const client = new Proxy(target, {
    get(obj, prop) {
      if (prop === 'closed') return !open || obj.closed;
      const value = Reflect.get(obj, prop, obj);
      if (typeof value !== 'function') return value;
      if (prop === 'listen') {
        return async (...args: Parameters<PGlite['listen']>) => {
          if (!open) throw new Error('PGlite is closed');
          const unlisten = await obj.listen(...args);
          unlistens.add(unlisten);
          return async () => {
            unlistens.delete(unlisten);
            await unlisten();
          };
        };
      }
      return (...args: unknown[]) => {
        if (!open) throw new Error('PGlite is closed');
        return (value as (...a: unknown[]) => unknown).apply(obj, args);
      };
    },
  });
  return {
    client,
    /** False when this checkout was already closed. */
    end: () => {
      const was = open;
      open = false;
      return was;
    },
    unlistenAll: async () => {
      for (const unlisten of unlistens) await unlisten();
      unlistens.clear();
    },
  };
}

/**
 * Empties every table (the audit trail's append-only trigger and foreign keys off for it) and restarts
 * sequences. A small table is emptied with DELETE: TRUNCATE gives every table and index a new file,
 * tens of milliseconds per file handed back, while most files leave a few rows in a few tables. A table
 * grown past 64 KB is truncated, so dead rows never pile up over a worker's files.
 */
async function emptied(client: PGlite): Promise<boolean> {
  try {
    await client.exec(`
      begin;
      set local session_replication_role = replica;
      do $$
      declare t text;
      begin
        for t in select format('%I.%I', schemaname, tablename) from pg_tables where schemaname = 'public' loop
          if pg_relation_size(t) > 65536 then execute 'truncate ' || t || ' cascade';
          else execute 'delete from ' || t;
          end if;
        end loop;
        for t in select format('%I.%I', sequence_schema, sequence_name)
                   from information_schema.sequences where sequence_schema = 'public' loop
          execute 'alter sequence ' || t || ' restart';
        end loop;
      end $$;
      commit;
    `);
    return (await fingerprintOf(client)) === templateFingerprint;
  } catch {
    return false;
  }
}

/** What truncation does not reset: relations, columns, functions, triggers, constraints, migrations, settings. */
async function fingerprintOf(client: PGlite): Promise<string> {
  const { rows } = await client.query<{ fingerprint: string }>(`
    select md5(coalesce(string_agg(item, E'\\n' order by item), '')) as fingerprint from (
      select 'rel ' || c.oid::regclass::text || ' ' || c.relkind::text as item
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')
      union all
      select 'col ' || a.attrelid::regclass::text || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
             || ' ' || a.attnotnull || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
        from pg_attribute a
        join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
        left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
       where n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast') and a.attnum > 0 and not a.attisdropped
      union all
      select 'fn ' || p.oid::regprocedure::text || ' ' || md5(p.prosrc)
        from pg_proc p join pg_namespace n on n.oid = p.pronamespace
       where n.nspname not in ('pg_catalog', 'information_schema')
      union all
      select 'trigger ' || tgrelid::regclass::text || ' ' || tgname || ' ' || tgenabled::text
        from pg_trigger where not tgisinternal
      union all
      select 'constraint ' || conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid)
        from pg_constraint where connamespace not in ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
      union all
      select 'migration ' || id || ' ' || hash from drizzle.__drizzle_migrations
      union all
      select 'setting ' || name || '=' || setting from pg_settings where source = 'session'
      union all
      select 'listening ' || channel from pg_listening_channels() as channel
    ) as everything
  `);
  return rows[0]!.fingerprint;
}
