import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../test/gateway/nginx.ts';
import { openScratchDatabase } from './scratch-database.ts';

/**
 * `npm run bench:start`: how long rekey takes from spawn to its first 200 on /readyz, and its resident
 * memory once idle, started as `npm start` (tsx) and as the production build (`node dist/main.js`,
 * run `npm run build` first), alternating in the same run so both see the same machine:
 *
 * - `all`, embedded database: the README's `npm start` (local mode, on a data folder made beforehand);
 * - `all`, PostgreSQL, no Slack: one process serving the verify API;
 * - `verify`, PostgreSQL: a verify replica (REKEY_ROLE=verify).
 *
 * RSS is the rekey node process's own (under npm start, npm's process is not counted), read from
 * /proc IDLE_MS after it was ready. Needs the local PostgreSQL (or DATABASE_URL).
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const IDLE_MS = 5_000;

type Launcher = 'npm start' | 'node dist/main.js';
interface Setup {
  name: string;
  env: Record<string, string>;
}

function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'))!;
  return Number(line.split(/\s+/)[1]) / 1024;
}

/** The node process running rekey: `npm start` execs node as npm's child. */
function rekeyPid(child: ChildProcess, launcher: Launcher): number {
  if (launcher === 'node dist/main.js') return child.pid!;
  const children = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/);
  return Number(children[0]);
}

async function measure(launcher: Launcher, setup: Setup): Promise<{ readyMs: number; rssMb: number }> {
  const port = await freePort();
  const env = {
    PATH: process.env.PATH!,
    HOME: process.env.HOME!,
    LOG_LEVEL: 'warn',
    PORT: String(port),
    ...setup.env,
  };
  const started = performance.now();
  const child =
    launcher === 'npm start'
      ? spawn('npm', ['start', '--silent'], { cwd: ROOT, env, stdio: 'ignore' })
      : spawn(process.execPath, [join(ROOT, 'dist/main.js')], { cwd: ROOT, env, stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${launcher} (${setup.name}) exited at start`);
      const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) break;
      if (performance.now() - started > 120_000) throw new Error(`${launcher} (${setup.name}) never ready`);
      await new Promise((r) => setTimeout(r, 10));
    }
    const readyMs = performance.now() - started;
    await new Promise((r) => setTimeout(r, IDLE_MS));
    return { readyMs, rssMb: rssMb(rekeyPid(child, launcher)) };
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

async function main() {
  if (!existsSync(join(ROOT, 'dist/main.js')))
    throw new Error('dist/main.js is missing: run `npm run build` first');
  const database = await openScratchDatabase('start', { max: 1 });
  const scratchUrl = database.url;
  const dataRoot = mkdtempSync(join(tmpdir(), 'rekey-bench-start-'));
  const setups: Setup[] = [
    { name: 'all, embedded (local mode)', env: { REKEY_DATA_DIR: join(dataRoot, 'data') } },
    { name: 'all, PostgreSQL', env: { DATABASE_URL: scratchUrl } },
    { name: 'verify, PostgreSQL', env: { DATABASE_URL: scratchUrl, REKEY_ROLE: 'verify' } },
  ];
  try {
    // The embedded folder's first start runs initdb and seeds demo keys: not what is measured.
    await measure('node dist/main.js', setups[0]!);
    console.log(
      `load average at start: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
    const results = new Map<string, { readyMs: number[]; rssMb: number[] }>();
    for (let round = 0; round < ROUNDS; round++) {
      for (const setup of setups) {
        // Alternate which launcher goes first, so neither always gets the warmer machine.
        const order: Launcher[] =
          round % 2 === 0 ? ['npm start', 'node dist/main.js'] : ['node dist/main.js', 'npm start'];
        for (const launcher of order) {
          const key = `${setup.name} | ${launcher}`;
          const one = await measure(launcher, setup);
          const entry = results.get(key) ?? { readyMs: [], rssMb: [] };
          entry.readyMs.push(one.readyMs);
          entry.rssMb.push(one.rssMb);
          results.set(key, entry);
        }
      }
    }
    console.log(
      `\nmedians of ${ROUNDS} rounds (each: spawn → first 200 on /readyz; RSS after ${IDLE_MS} ms idle)\n`,
    );
    console.log(
      '| setup | started with | start → ready (ms) | idle RSS (MB) | all runs: ready ms / RSS MB |',
    );
    console.log('| --- | --- | ---: | ---: | --- |');
    for (const [key, { readyMs, rssMb: rss }] of results) {
      const [setup, launcher] = key.split(' | ');
      const runs = readyMs.map((ms, i) => `${Math.round(ms)}/${rss[i]!.toFixed(0)}`).join(', ');
      console.log(
        `| ${setup} | ${launcher} | ${Math.round(median(readyMs))} | ${median(rss).toFixed(1)} | ${runs} |`,
      );
    }
    console.log(
      `\nload average at end: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
  } finally {
    rmSync(dataRoot, { recursive: true, force: true });
    await database.drop();
  }
}

await main();
