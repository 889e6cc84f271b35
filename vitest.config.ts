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
  },
});
