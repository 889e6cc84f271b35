import { reportCliError, runCli } from '../../src/cli/run-cli.ts';
import type { Services } from '../../src/services/services.ts';

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
