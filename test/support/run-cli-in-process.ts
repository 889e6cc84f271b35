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

export type CliResult = Awaited<ReturnType<typeof runCliInProcess>>;

/**
 * `npx rekey …` run from the project folder `cwd`, in this process: what `src/cli/main.ts` does (open
 * `./data` under its lock, run, close), without paying a Node start. The binary itself is exercised in
 * test/cli/cli.test.ts and the e2e tests.
 */
export async function runCliOnFolder(args: string[], cwd: string): Promise<CliResult> {
  return (await runCliCommandsOnFolder([args], cwd))[0]!;
}

/** Several `npx rekey …` one after another, opening `./data` once for all of them. */
export async function runCliCommandsOnFolder(commands: string[][], cwd: string): Promise<CliResult[]> {
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
    const results: CliResult[] = [];
    for (const args of commands) results.push(await runCliInProcess(args, services));
    return results;
  } catch (error) {
    // The folder could not be opened (locked, broken): every command fails the way main.ts reports it.
    return commands.map((args) => {
      const out: string[] = [];
      const err: string[] = [];
      const io = { out: (t: string) => out.push(t), err: (t: string) => err.push(t) };
      const code = reportCliError(error, args.includes('--json'), io);
      return { code, out: out.join('\n'), err: err.join('\n') };
    });
  } finally {
    await database?.close();
  }
}
