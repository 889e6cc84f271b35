import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { inject } from 'vitest';

/** Where global-setup.ts leaves the output of a template build that failed. */
export const failureFileOf = (templateFolder: string) => `${templateFolder}.failed`;

/**
 * Resolves once the run's template (global-setup.ts builds it in a process of its own, the first time)
 * is complete; rejects with the build's output if it failed.
 */
export async function templateReady(): Promise<void> {
  const folder = dirname(inject('preparedDataDir'));
  const deadline = performance.now() + 180_000;
  for (;;) {
    if (existsSync(join(folder, 'complete'))) return;
    if (existsSync(failureFileOf(folder))) throw new Error(readFileSync(failureFileOf(folder), 'utf8'));
    if (performance.now() > deadline)
      throw new Error(`the test template was not built in 3 minutes: ${folder}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
