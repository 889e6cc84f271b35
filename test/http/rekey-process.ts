import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');

export interface RekeyProcess {
  child: ChildProcess;
  url: string;
  output: () => string;
  exited: Promise<number | null>;
}

/** `src/main.ts` in its own Node process (signals reach it directly), on a free port. */
export function spawnRekey(env: Record<string, string>): Promise<RekeyProcess> {
  const clean = { ...process.env };
  for (const name of Object.keys(clean)) {
    if (name.startsWith('SLACK_') || name.startsWith('REKEY_') || name === 'DATABASE_URL') delete clean[name];
  }
  const child = spawn(process.execPath, ['--import', TSX, MAIN], {
    cwd: ROOT,
    env: { ...clean, PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`rekey did not start:\n${out}`)), 45_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening on (http:\/\/[\d.]+:\d+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve({ child, url: match[1]!, output: () => out, exited });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`rekey exited with ${code}:\n${out}`));
    });
  });
}
