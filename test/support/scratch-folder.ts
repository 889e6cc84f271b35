import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';

/**
 * A new, empty folder for a test's files (a project folder, a data folder, a lock), inside this run's
 * scratch folder: global-setup.ts removes that whole folder when the run ends, so the copies of
 * embedded databases (40 MB each) never pile up in the system's temporary folder, even when a file
 * fails or leaves a process behind.
 */
export function scratchFolder(prefix: string): string {
  return mkdtempSync(join(inject('scratchRoot'), prefix));
}
