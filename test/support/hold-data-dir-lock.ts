// A separate process for the folder-lock tests: waits for "go" on stdin, then tries to take the lock on
// the folder in argv[2]. Prints "held" and keeps it until killed, or prints the refusal and exits 1.
// With `--pid-file`, it uses the lock of platforms where no OS file lock loads.
import { createInterface } from 'node:readline';
import { acquireDataDirLock } from '../../src/store/data-dir-lock.ts';

const lines = createInterface({ input: process.stdin });
process.stdout.write('ready\n');
for await (const line of lines) {
  if (line !== 'go') continue;
  try {
    acquireDataDirLock(process.argv[2]!, process.argv.includes('--pid-file') ? { osLock: null } : {});
    process.stdout.write('held\n');
    // Held for the life of the process: nothing else to do until the test kills it.
    setInterval(() => {}, 60_000);
  } catch (error) {
    process.stdout.write(`refused: ${(error as Error).message}\n`);
    process.exit(1);
  }
}
