import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Browser tests need Chromium: `npm run test:browser` (and .ci/run) runs them.
    exclude: ['test/**/*.browser.test.ts', '**/node_modules/**'],
    globalSetup: ['test/support/global-setup.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Each file opens its own database (a PGlite copy or a fresh PostgreSQL database): no shared state.
    fileParallelism: true,
    // Most files spend their time waiting (child processes, timers, sockets), not computing, so more
    // workers than cores pays off; vitest's default (cores - 1) runs every file in turn on 2 cores.
    maxWorkers: Math.max(availableParallelism(), 4),
  },
});
