import { randomBytes } from 'node:crypto';
import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import * as schema from '../db/schema/index.ts';
import type { Db } from '../src/store/database.ts';
import { openPostgres } from '../src/store/open-postgres.ts';

/**
 * A benchmark's own database on the local PostgreSQL (or the server in DATABASE_URL): created and
 * migrated with the app's own code, reached through a client that counts every statement it sends
 * (begin/commit included), and dropped by `drop()`.
 */
export async function openScratchDatabase(name: string, options: { max: number }) {
  const serverUrl = process.env.DATABASE_URL?.trim() || 'postgres://postgres@127.0.0.1:5432/test';
  const scratch = `rekey_bench_${name}_${randomBytes(4).toString('hex')}`;
  const url = new URL(serverUrl);
  url.pathname = `/${scratch}`;
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${scratch}"`);
  let statements = 0;
  let client: postgres.Sql | undefined;
  const drop = async () => {
    await client?.end({ timeout: 5 });
    await admin.unsafe(`drop database if exists "${scratch}" with (force)`);
    await admin.end({ timeout: 5 });
  };
  try {
    await (await openPostgres(url.toString(), { max: 1 })).close();
    client = postgres(url.toString(), {
      max: options.max,
      onnotice: () => {},
      debug: () => {
        statements += 1;
      },
    });
  } catch (error) {
    await drop();
    throw error;
  }
  return {
    /** For another process (a rekey started by the benchmark). */
    url: url.toString(),
    client,
    db: drizzle(client, { schema }) as unknown as Db,
    statements: () => statements,
    drop,
  };
}
