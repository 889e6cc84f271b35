import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

/**
 * `npm run build`: rekey's server and CLI bundled into dist/ for production (README: "Operate rekey in
 * production"). `node dist/main.js` takes the same environment as `npm start`, `node dist/cli.js` the
 * same commands as `npx rekey`; neither needs tsx or a TypeScript transform at start.
 *
 * dist/ is self-contained beside node_modules: the files the code reads next to its own source (the
 * migrations, local mode's page) are copied in at the paths the source expects relative to itself.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = join(ROOT, 'dist');

/** Left in node_modules and loaded from there at run time: each reads files beside its own module. */
const EXTERNAL = [
  // Its WebAssembly and data files are loaded relative to its own module.
  '@electric-sql/pglite',
  // A native addon, found through require-addon's lookup of its prebuilt binaries.
  'fs-native-extensions',
];

/** Folders the code reads at run time, relative to the project (and so to dist/). */
const ASSETS = ['db/migrations', 'src/local/public'];

/**
 * Every source file's `import.meta.url` becomes the URL it would have inside dist/ (dist/src/…,
 * dist/db/…), computed from the bundle's own URL at run time: `new URL('../../db/migrations',
 * import.meta.url)` in src/store/ then names dist/db/migrations wherever dist/ is installed. Chunks
 * stay at dist/'s top level, so one relative path serves whichever file a module lands in.
 */
const ownImportMetaUrl: Plugin = {
  name: 'own-import-meta-url',
  setup(builder) {
    builder.onLoad({ filter: /\.ts$/ }, (args) => {
      const where = `./${relative(ROOT, args.path).split('\\').join('/')}`;
      return {
        contents: readFileSync(args.path, 'utf8').replaceAll(
          'import.meta.url',
          `new URL(${JSON.stringify(where)}, import.meta.url).href`,
        ),
        loader: 'ts',
      };
    });
  },
};

rmSync(DIST, { recursive: true, force: true });
const started = performance.now();
await build({
  absWorkingDir: ROOT,
  entryPoints: { main: 'src/main.ts', cli: 'src/cli/main.ts' },
  outdir: DIST,
  bundle: true,
  // Chunks shared by the entries; a dynamic import() (Bolt, the scheduler, PGlite's opener) is a chunk
  // loaded only by the role that runs it, so a verify replica never parses the bot's code.
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: EXTERNAL,
  // Bundled CommonJS dependencies call require() for Node's own modules: give the ESM output one.
  banner: {
    js: "import { createRequire as __rekeyCreateRequire } from 'node:module'; const require = __rekeyCreateRequire(import.meta.url);",
  },
  sourcemap: 'linked',
  logLevel: 'warning',
  plugins: [ownImportMetaUrl],
});
for (const folder of ASSETS) cpSync(join(ROOT, folder), join(DIST, folder), { recursive: true });
// The bundles are ES modules wherever dist/ is copied, whatever package.json sits above it.
writeFileSync(join(DIST, 'package.json'), `${JSON.stringify({ type: 'module' }, null, 2)}\n`);
console.log(`built dist/main.js and dist/cli.js in ${Math.round(performance.now() - started)} ms`);
