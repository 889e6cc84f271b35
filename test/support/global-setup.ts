import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { MIGRATIONS_FOLDER } from '../../src/store/migrations-folder.ts';
import { buildChildScripts } from './build-child-scripts.ts';
import { failureFileOf } from './template-ready.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    pgliteTemplate: string;
    preparedDataDir: string;
    /** This run's scratch folder (see scratch-folder.ts), removed when the run ends. */
    scratchRoot: string;
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
  const { scripts, folder } = await buildChildScripts();
  const built = join(CACHE, templateKey());
  // Built in a process of its own while vitest starts its workers and runs the files that need no
  // database: initdb takes seconds, and this process serves the workers' module transforms meanwhile.
  // Files wait for it when they first need it (template-ready.ts).
  const builder = existsSync(join(built, 'complete'))
    ? undefined
    : startBuild(scripts['build-template'], built);
  const scratchRoot = mkdtempSync(join(tmpdir(), 'rekey-test-run-'));
  project.provide('scratchRoot', scratchRoot);
  project.provide('childScripts', scripts);
  project.provide('preparedDataDir', join(built, 'data'));
  project.provide('pgliteTemplate', process.env.TEST_DATABASE_URL?.trim() ? '' : join(built, 'template.tar'));
  return () => {
    builder?.kill('SIGKILL');
    rmSync(folder, { recursive: true, force: true });
    rmSync(scratchRoot, { recursive: true, force: true });
  };
}

/** Starts the template's build; if it fails, leaves its output in `<target>.failed` for the waiting files. */
function startBuild(script: string, target: string): ChildProcess {
  mkdirSync(CACHE, { recursive: true });
  rmSync(failureFileOf(target), { force: true });
  const child = spawn(process.execPath, [script, target], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.once('exit', (code, signal) => {
    if (code === 0) return;
    writeFileSync(
      failureFileOf(target),
      `building the test template failed (${signal ?? `exit ${code}`}):\n${output}`,
    );
  });
  return child;
}

function templateKey(): string {
  const hash = createHash('sha256');
  const files = [
    ...listFiles(MIGRATIONS_FOLDER),
    join(PROJECT_ROOT, 'src', 'store', 'open-pglite.ts'),
    join(PROJECT_ROOT, 'test', 'support', 'build-template.ts'),
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
