import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import postgres from 'postgres';
import { type Database, rowsOf } from './database.ts';
import { MIGRATIONS_FOLDER } from './migrations-folder.ts';

/** The readiness question, asked of the database: reachable, and every migration this code ships applied. */
export interface HealthProbe {
  /** Resolves when ready; rejects with the reason when not. */
  check(): Promise<void>;
  close(): Promise<void>;
}

const APPLIED = 'select count(*)::int as applied from drizzle.__drizzle_migrations';

/**
 * On PostgreSQL the probe has a connection of its own (a copy of the pool's settings, max 1), so a
 * readiness check never waits for, or takes, a pool connection a verify lookup needs, and a probe stuck
 * on a dead server cannot hold one either. PGlite is a single connection anyway; its probe is a few
 * microseconds in the queue.
 */
export function openHealthProbe(database: Database): HealthProbe {
  const journal = JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, 'meta', '_journal.json'), 'utf8')) as {
    entries: unknown[];
  };
  const expected = journal.entries.length;
  const compare = (applied: number) => {
    if (applied < expected)
      throw new Error(`${applied} of ${expected} migrations applied: restart rekey to apply the rest`);
  };
  if (database.sql) {
    // The same trick postgres.js uses for its LISTEN connection: its parsed options, another client.
    const own = postgres({
      ...(database.sql.options as unknown as postgres.Options<Record<string, never>>),
      max: 1,
      connect_timeout: 2,
      idle_timeout: 0,
    });
    return {
      check: async () =>
        compare(rowsOf<{ applied: number }>(await own.unsafe(APPLIED, [], { prepare: true }))[0]!.applied),
      close: () => own.end({ timeout: 1 }),
    };
  }
  if (database.pglite) {
    const pglite = database.pglite;
    return {
      check: async () => compare(rowsOf<{ applied: number }>(await pglite.query(APPLIED))[0]!.applied),
      close: async () => {},
    };
  }
  throw new Error('health probe needs a PGlite or postgres.js database');
}
