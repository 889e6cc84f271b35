import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ChildScript } from './build-child-scripts.ts';
import { childScript } from './child-scripts.ts';

export const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = fileURLToPath(new URL('../../bin/rekey.js', import.meta.url));

/** The environment a child starts from: this one, minus anything that would pick a database or Slack. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of Object.keys(env)) {
    if (name.startsWith('SLACK_') || name.startsWith('REKEY_') || name === 'DATABASE_URL' || name === 'PORT')
      delete env[name];
  }
  return { ...env, LOG_LEVEL: 'info', ...extra };
}

export interface RunningRekey {
  child: ChildProcess;
  url: string;
  output: () => string;
  /** Resolves once the process has printed `text` (at once if it already has); rejects if it exits first. */
  printed(text: string): Promise<void>;
  /** Resolves with the exit code once the process has exited (null after a signal). */
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * What every way of starting rekey in tests runs: `src/main.ts` (compiled once per run, see
 * build-child-scripts.ts), `npm start` or `bin/rekey.js` (both through tsx, as the README runs them).
 */
type Entry = 'main' | 'npm-start' | 'cli';

function spawnEntry(
  entry: Entry,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
  detached = false,
): ChildProcess {
  const stdio: ['ignore', 'pipe', 'pipe'] = ['ignore', 'pipe', 'pipe'];
  if (entry === 'npm-start')
    return spawn('npm', ['start', '--silent'], { cwd: PROJECT_ROOT, env, stdio, detached });
  // One Node process (no npm in between), so signals sent to the child reach rekey itself.
  const script = entry === 'main' ? [childScript('main')] : [CLI];
  return spawn(process.execPath, [...script, ...args], { cwd, env, stdio, detached });
}

/**
 * Starts rekey in its own process and resolves once it listens: `src/main.ts` directly (one Node
 * process, so signals reach it), or with `npmStart`, exactly the README's `npm start` from the project
 * folder. For tests whose subject is the process itself (signals, the data-dir lock, start-up).
 */
export function startRekeyProcess(options: {
  cwd: string;
  env?: Record<string, string>;
  npmStart?: boolean;
  /**
   * In a process group of its own (its pid is the group's id), as a terminal or systemd starts it:
   * `process.kill(-child.pid, signal)` then signals every process of it, npm and node alike.
   */
  detached?: boolean;
  /** A fixture that starts rekey its own way (e.g. with a clock the test moves), instead of src/main.ts. */
  program?: { script: ChildScript; args?: string[] };
}): Promise<RunningRekey> {
  const env = cleanEnv({ PORT: '0', ...options.env });
  const child = options.program
    ? spawn(process.execPath, [childScript(options.program.script), ...(options.program.args ?? [])], {
        cwd: options.cwd,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: options.detached,
      })
    : spawnEntry(options.npmStart ? 'npm-start' : 'main', [], options.cwd, env, options.detached);
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const printed = (text: string) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!out.includes(text)) return;
        child.stdout!.off('data', check);
        child.stderr!.off('data', check);
        resolve();
      };
      child.stdout!.on('data', check);
      child.stderr!.on('data', check);
      exited.then(() => reject(new Error(`rekey exited before printing "${text}":\n${out}`)));
      check();
    });
  return new Promise((resolve, reject) => {
    // Generous: a first start runs initdb, which takes many seconds on a busy shared machine.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`rekey did not start in time:\n${out}`));
    }, 90_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening on (http:\/\/[\d.]+:\d+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve({
          child,
          url: match[1]!,
          output: () => out,
          printed,
          exited,
          stop: async (signal = 'SIGTERM') => {
            child.kill(signal);
            return exited;
          },
        });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(Object.assign(new Error(`rekey exited with ${code}:\n${out}`), { exitCode: code, output: out }));
    });
  });
}

export interface FinishedProcess {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runToExit(entry: Entry, args: string[], options: { cwd: string; env?: Record<string, string> }) {
  return new Promise<FinishedProcess>((resolve) => {
    const child = spawnEntry(entry, args, options.cwd, cleanEnv(options.env));
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr!.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs `bin/rekey.js …` (what `npx rekey` runs) to completion. */
export function runCliProcess(
  args: string[],
  options: { cwd: string; env?: Record<string, string> },
): Promise<FinishedProcess> {
  return runToExit('cli', args, options);
}

/** Runs `src/main.ts` (what `npm start` runs) until it exits on its own, e.g. refusing its configuration. */
export function runMainProcess(options: {
  cwd: string;
  env?: Record<string, string>;
}): Promise<FinishedProcess> {
  return runToExit('main', [], options);
}
