import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';

const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The programs tests run as processes of their own, by name. `main` is `src/main.ts`, what `npm start`
 * runs; the others are test fixtures.
 */
const SOURCES = {
  main: 'src/main.ts',
  'hold-data-dir-lock': 'test/support/hold-data-dir-lock.ts',
  'deliver-message-bursts': 'test/slack/fixtures/deliver-message-bursts.ts',
  'claim-then-hang': 'test/scheduler/fixtures/claim-then-hang.ts',
  'report-then-die': 'test/slack/fixtures/report-then-die.ts',
  'notice-replica': 'test/scheduler/fixtures/notice-replica.ts',
  'build-template': 'test/support/build-template.ts',
  'wire-recorder': 'test/store/fixtures/wire-recorder.ts',
} as const;
export type ChildScript = keyof typeof SOURCES;

/**
 * Child processes run these sources as plain JavaScript, compiled once per test run by esbuild (the
 * compiler tsx itself uses), instead of each starting tsx: its loader thread and per-file transforms
 * cost a second or two of CPU per process and slowed every process test. `npm start` and `bin/rekey.js`
 * themselves, with tsx, are still run by the browser test and the CLI test.
 * Dependencies stay outside the bundles (resolved from node_modules, as at run time), and each source
 * file keeps its own `import.meta.url`, so paths it derives from it (migrations, the local page's
 * assets) point where they do in the repository.
 * Returns the folder to remove after the run.
 */
export async function buildChildScripts(): Promise<{ scripts: Record<ChildScript, string>; folder: string }> {
  // Under node_modules, so the bundles' bare imports resolve to the project's dependencies.
  const cache = join(PROJECT_ROOT, 'node_modules', '.cache');
  mkdirSync(cache, { recursive: true });
  const folder = mkdtempSync(join(cache, 'rekey-test-children-'));
  try {
    await build({
      entryPoints: Object.fromEntries(
        Object.entries(SOURCES).map(([name, file]) => [name, join(PROJECT_ROOT, file)]),
      ),
      outdir: folder,
      outExtension: { '.js': '.mjs' },
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      logLevel: 'error',
      plugins: [ownImportMetaUrl],
    });
  } catch (error) {
    rmSync(folder, { recursive: true, force: true });
    throw error;
  }
  const scripts = Object.fromEntries(Object.keys(SOURCES).map((name) => [name, join(folder, `${name}.mjs`)]));
  return { scripts: scripts as Record<ChildScript, string>, folder };
}

const ownImportMetaUrl: Plugin = {
  name: 'own-import-meta-url',
  setup(builder) {
    builder.onLoad({ filter: /\.ts$/ }, (args) => ({
      contents: readFileSync(args.path, 'utf8').replaceAll(
        'import.meta.url',
        JSON.stringify(pathToFileURL(args.path).href),
      ),
      loader: 'ts',
    }));
  },
};
