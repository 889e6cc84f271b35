import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { openPglite } from '../../src/store/open-pglite.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    pgliteTemplate: string;
    preparedDataDir: string;
  }
}

/**
 * PGlite pays initdb (~3.5 s) per new database. Build one migrated embedded data folder once per run,
 * as the CLI's first command leaves it (created, migrated, empty, unlocked), and derive from it:
 * - `preparedDataDir`: the folder itself, for tests that run rekey or the CLI on a folder that already
 *   exists (each gets a copy, see prepared-data-dir.ts);
 * - `pgliteTemplate`: its dump, which every test file's in-memory database starts from.
 * Built on real PostgreSQL runs too: processes started by tests always use the embedded database.
 */
export default async function setup(project: TestProject) {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-test-'));
  const dataDir = join(dir, 'data');
  const database = await openPglite(dataDir);
  try {
    if (process.env.TEST_DATABASE_URL?.trim()) {
      project.provide('pgliteTemplate', '');
    } else {
      const file = join(dir, 'template.tar.gz');
      const dump = await database.pglite!.dumpDataDir('gzip');
      writeFileSync(file, Buffer.from(await dump.arrayBuffer()));
      project.provide('pgliteTemplate', file);
    }
  } finally {
    await database.close();
  }
  project.provide('preparedDataDir', dataDir);
  return () => rmSync(dir, { recursive: true, force: true });
}
