import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { MIGRATIONS_FOLDER } from '../../src/store/migrations-folder.ts';
import { openPglite } from '../../src/store/open-pglite.ts';
import { buildChildScripts } from './build-child-scripts.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    pgliteTemplate: string;
    preparedDataDir: string;
  }
}

const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CACHE = join(PROJECT_ROOT, 'node_modules', '.cache', 'rekey-test-template');

/**
 * PGlite pays initdb (5-8 s of CPU) per new database. One migrated embedded data folder, as the CLI's
 * first command leaves it (created, migrated, empty, unlocked), serves the whole run:
 * - `preparedDataDir`: the folder itself, for tests that run rekey or the CLI on a folder that already
 *   exists (each gets a copy, see prepared-data-dir.ts);
 * - `pgliteTemplate`: its dump, which every test file's in-memory database starts from.
 * It is kept between runs in node_modules/.cache, under a hash of everything that shapes it (the
 * migrations, the PGlite version, the code that opens it): a changed migration builds a new one.
 * Processes started by tests always use the embedded database, so real PostgreSQL runs get it too.
 */
export default async function setup(project: TestProject) {
  const children = buildChildScripts();
  const built = join(CACHE, templateKey());
  if (!existsSync(join(built, 'complete'))) await build(built);
  const { scripts, folder } = await children;
  project.provide('childScripts', scripts);
  project.provide('preparedDataDir', join(built, 'data'));
  project.provide(
    'pgliteTemplate',
    process.env.TEST_DATABASE_URL?.trim() ? '' : join(built, 'template.tar.gz'),
  );
  return () => rmSync(folder, { recursive: true, force: true });
}

async function build(target: string) {
  const staging = `${target}.${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  const database = await openPglite(join(staging, 'data'));
  try {
    const dump = await database.pglite!.dumpDataDir('gzip');
    writeFileSync(join(staging, 'template.tar.gz'), Buffer.from(await dump.arrayBuffer()));
  } finally {
    await database.close();
  }
  writeFileSync(join(staging, 'complete'), '');
  // Templates built for other migrations are of no further use (runs still building one are left be).
  for (const name of readdirSync(CACHE)) {
    if (!name.includes('.')) rmSync(join(CACHE, name), { recursive: true, force: true });
  }
  try {
    renameSync(staging, target);
  } catch (error) {
    // Another run built the same template at the same moment: use theirs.
    if (!existsSync(join(target, 'complete'))) throw error;
    rmSync(staging, { recursive: true, force: true });
  }
}

function templateKey(): string {
  const hash = createHash('sha256');
  const files = [
    ...listFiles(MIGRATIONS_FOLDER),
    join(PROJECT_ROOT, 'src', 'store', 'open-pglite.ts'),
    join(PROJECT_ROOT, 'node_modules', '@electric-sql', 'pglite', 'package.json'),
    join(PROJECT_ROOT, 'node_modules', 'drizzle-orm', 'package.json'),
  ];
  for (const file of files) hash.update(relative(PROJECT_ROOT, file)).update('\0').update(readFileSync(file));
  return hash.digest('hex').slice(0, 16);
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}
