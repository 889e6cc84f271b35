import { defineConfig } from 'vitest/config';

/**
 * The browser tests (local mode in headless Debian Chromium). Kept out of `npm test`, which must pass on
 * a fresh machine with nothing installed; `.ci/run` installs Chromium and runs these too.
 */
export default defineConfig({
  test: {
    include: ['test/**/*.browser.test.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 90_000,
  },
});
