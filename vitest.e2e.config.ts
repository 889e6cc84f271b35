import { defineConfig } from 'vitest/config';

/**
 * `npm run test:e2e`: rekey as the README runs it, whole programs on real data folders — `npm start`
 * (through npm and tsx, stopped by signals to its process group), the first start that creates ./data,
 * local mode's folder across restarts, `npx rekey` from bin/rekey.js, and local mode's page in headless
 * Chromium (Debian's `chromium` package). Kept out of `npm test`, which stays the suite that runs in
 * under a minute on a machine with nothing installed; `.ci/run` runs both.
 */
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.test.ts', 'test/**/*.browser.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    pool: 'forks',
    // Two at once: every file starts processes, and more would starve them past their start-up bounds
    // on 2 cores.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
