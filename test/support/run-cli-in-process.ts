import { join } from 'node:path';
import { expect } from 'vitest';
import { openCliServices } from '../../src/cli/open-cli-services.ts';
import { type CliServices, reportCliError, runCli } from '../../src/cli/run-cli.ts';

/** `rekey …` in this process against these services: its exit code and what it printed. */
export async function runCliInProcess(args: string[], services: CliServices) {
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
 * `rekey …` against these services: `cli` gives the exit code and text, `json` runs the command with
 * `--json`, fails the test unless it succeeded, and gives its parsed output.
 */
export function cliOn(services: CliServices) {
  const cli = (...args: string[]) => runCliInProcess(args, services);
  const json = async (...args: string[]) => {
    const r = await cli(...args, '--json');
    expect(r.code, r.err).toBe(0);
    return JSON.parse(r.out);
  };
  return { cli, json };
}

/**
 * `npx rekey …` run from the project folder `cwd`, in this process: what `src/cli/main.ts` does (open
 * `./data` under its lock, run, close), without paying a Node start. The binary itself is exercised in
 * test/cli/cli.test.ts and the e2e tests.
 */
export async function runCliOnFolder(args: string[], cwd: string): Promise<CliResult> {
  return (await runCliCommandsOnFolder([args], cwd))[0]!;
}

/**
 * Several `npx rekey …` one after another, as src/cli/main.ts runs each (checked before ./data is
 * opened), opening `./data` at most once for all of them.
 */
export async function runCliCommandsOnFolder(commands: string[][], cwd: string): Promise<CliResult[]> {
  let opened: Awaited<ReturnType<typeof openCliServices>> | undefined;
  let openFailure: unknown;
  const open = async () => {
    if (openFailure !== undefined) throw openFailure;
    try {
      opened ??= await openCliServices({ REKEY_DATA_DIR: join(cwd, 'data') });
    } catch (error) {
      // The folder could not be opened (locked, broken): every later command fails the same way.
      openFailure = error;
      throw error;
    }
    return opened.services;
  };
  try {
    const results: CliResult[] = [];
    for (const args of commands) results.push(await runCliInProcess(args, open));
    return results;
  } finally {
    await opened?.close();
  }
}
