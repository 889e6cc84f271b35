import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';
import { LongFilesFirst } from './test/support/long-files-first.ts';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // rekey as whole programs (`npm start`, `npx rekey`, local mode in Chromium): `npm run test:e2e`
    // (vitest.e2e.config.ts), which .ci/run runs too.
    exclude: ['test/e2e/**', 'test/**/*.browser.test.ts', '**/node_modules/**'],
    globalSetup: ['test/support/global-setup.ts'],
    pool: 'forks',
    // Files run one after another in each worker's process, sharing its loaded modules (the app's
    // imports cost seconds per file otherwise) and handing an emptied PGlite to the next file (see
    // test/support/test-database.ts). Nothing in src or test keeps state at module level that a file
    // could leave behind: metrics registries, loggers and services are made per instance.
    isolate: false,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Each file opens its own database (a PGlite copy or a fresh PostgreSQL database): no shared state.
    fileParallelism: true,
    // Many files wait (child processes, timers, sockets) rather than compute, so at least two files run
    // at once even on 2 cores, where vitest's default (cores - 1) runs every file in turn. Not more:
    // four workers on 2 cores starved the processes the process tests start (rekey, the CLI, nginx)
    // past their start-up bounds.
    maxWorkers: Math.max(availableParallelism(), 2),
    sequence: { sequencer: LongFilesFirst },
  },
});
