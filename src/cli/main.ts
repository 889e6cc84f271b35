import { reportCliError, runCli } from './run-cli.ts';

const io = { out: (t: string) => console.log(t), err: (t: string) => console.error(t) };
const argv = process.argv.slice(2);
const json = argv.includes('--json');

let close: (() => Promise<void>) | undefined;
let code: number;
try {
  // The configuration, the database and the services are loaded only once the command is known to
  // be well-formed (runCli checks it first): a mistyped command is answered at once and never waits
  // for, or is refused by, the folder lock of a running server.
  code = await runCli(
    argv,
    async () => {
      const { openCliServices } = await import('./open-cli-services.ts');
      const opened = await openCliServices();
      close = opened.close;
      return opened.services;
    },
    io,
  );
} catch (error) {
  code = reportCliError(error, json, io);
} finally {
  await close?.();
}
process.exit(code);
