import { systemClock } from '../clock.ts';
import { loadConfig } from '../config.ts';
import { KeyChanges } from '../services/key-changes.ts';
import { createServices } from '../services/services.ts';
import type { Database } from '../store/database.ts';
import { openDatabase } from '../store/open-database.ts';
import { reportCliError, runCli } from './run-cli.ts';

const io = { out: (t: string) => console.log(t), err: (t: string) => console.error(t) };
const argv = process.argv.slice(2);
const json = argv.includes('--json');

let database: Database | undefined;
let code: number;
try {
  const config = loadConfig();
  database = await openDatabase(config);
  const services = createServices({
    db: database.db,
    clock: systemClock,
    changes: new KeyChanges(),
    keyPrefix: config.REKEY_KEY_PREFIX,
    admins: config.REKEY_ADMINS,
  });
  code = await runCli(argv, services, io);
} catch (error) {
  code = reportCliError(error, json, io);
} finally {
  await database?.close();
}
process.exit(code);
