import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';
import { scratchFolder } from './scratch-folder.ts';
import { templateReady } from './template-ready.ts';

/**
 * A new project folder whose `./data` is a copy of a migrated embedded database, as the CLI's first
 * command leaves it: no keys, no local-mode marker. For tests whose subject is not the folder's
 * creation, so that what they start there skips initdb.
 */
export async function projectWithData(prefix = 'rekey-project-'): Promise<string> {
  await templateReady();
  const cwd = scratchFolder(prefix);
  cpSync(inject('preparedDataDir'), join(cwd, 'data'), { recursive: true });
  return cwd;
}
