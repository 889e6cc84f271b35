import { join } from 'node:path';
import { reportCliError, runCli } from '../../src/cli/run-cli.ts';
import { systemClock } from '../../src/clock.ts';
import { loadConfig } from '../../src/config.ts';
import { KeyChanges } from '../../src/services/key-changes.ts';
import { createServices, type Services } from '../../src/services/services.ts';
import type { Database } from '../../src/store/database.ts';
import { openDatabase } from '../../src/store/open-database.ts';

/** `rekey …` in this process against these services: its exit code and what it printed. */
export async function runCliInProcess(args: string[], services: Services) {
  const out: string[] = [];
  const err: string[] = [];
  const io = { out: (t: string) => out.push(t), err: (t: string) => err.push(t) };
  let code: number;
  try {
    code = await runCli(args, services, io);
  } catch (error) {
    code = reportCliError(error, args.includes('--json'), io);
  }
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/**
 * `npx rekey …` run from the project folder `cwd`, in this process: what `src/cli/main.ts` does (open
 * `./data` under its lock, run, close), without paying a Node start. The binary itself is exercised in
 * test/cli/cli.test.ts and the e2e tests.
 */
export async function runCliOnFolder(args: string[], cwd: string) {
  const json = args.includes('--json');
  let database: Database | undefined;
  try {
    const config = loadConfig({ REKEY_DATA_DIR: join(cwd, 'data') });
    database = await openDatabase(config);
    const services = createServices({
      db: database.db,
      clock: systemClock,
      changes: new KeyChanges(),
      keyPrefix: config.REKEY_KEY_PREFIX,
      admins: config.REKEY_ADMINS,
    });
    return await runCliInProcess(args, services);
  } catch (error) {
    const out: string[] = [];
    const err: string[] = [];
    const code = reportCliError(error, json, { out: (t) => out.push(t), err: (t) => err.push(t) });
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    await database?.close();
  }
}
