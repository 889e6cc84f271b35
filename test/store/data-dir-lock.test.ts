import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { acquireDataDirLock, YOUNG_LOCK_MS } from '../../src/store/data-dir-lock.ts';
import { childScript } from '../support/child-scripts.ts';
import { scratchFolder } from '../support/scratch-folder.ts';

const newFolder = () => scratchFolder('rekey-lock-');
const lockFile = (dir: string) => join(dir, 'rekey.lock');

interface Contender {
  child: ChildProcess;
  /** Resolves with the first line after "ready": "held" or "refused: …". */
  outcome: Promise<string>;
  exited: Promise<number | null>;
}

const started: ChildProcess[] = [];
afterEach(() => {
  for (const child of started.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

/**
 * A separate process that tries the lock on `dir` when told "go" (with `pidFile`, the lock of
 * platforms where no OS file lock loads). Resolves once it is ready.
 */
async function contender(dir: string, options: { pidFile?: boolean } = {}): Promise<Contender> {
  const args = [childScript('hold-data-dir-lock'), dir, ...(options.pidFile ? ['--pid-file'] : [])];
  const child = spawn(process.execPath, args, {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  started.push(child);
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const lines: string[] = [];
  const waiters: Array<() => void> = [];
  let buffer = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const parts = buffer.split('\n');
    buffer = parts.pop()!;
    lines.push(...parts);
    for (const wake of waiters.splice(0)) wake();
  });
  const line = (index: number) =>
    new Promise<string>((resolve, reject) => {
      const check = () => (lines.length > index ? resolve(lines[index]!) : waiters.push(check));
      exited.then((code) => lines.length <= index && reject(new Error(`contender exited with ${code}`)));
      check();
    });
  expect(await line(0)).toBe('ready');
  return { child, outcome: line(1), exited };
}

describe('the embedded database folder lock', () => {
  it('lets one holder in and tells a second who holds it and what to do', () => {
    const dir = newFolder();
    const release = acquireDataDirLock(dir);
    expect(() => acquireDataDirLock(dir)).toThrow(
      new RegExp(`in use by process ${process.pid} on .*stop that process first, or set DATABASE_URL`, 's'),
    );
    release();
    acquireDataDirLock(dir)();
  });

  it('names the holder in another process when it refuses', async () => {
    const dir = newFolder();
    const holder = await contender(dir);
    holder.child.stdin!.write('go\n');
    expect(await holder.outcome).toBe('held');
    expect(() => acquireDataDirLock(dir)).toThrow(
      new RegExp(`in use by process ${holder.child.pid} on ${hostname()} \\(started .*hold-data-dir-lock`),
    );
  }, 30_000);

  it('is free at once when its holder is SIGKILLed, though the lock file still names that holder', async () => {
    const dir = newFolder();
    const holder = await contender(dir);
    holder.child.stdin!.write('go\n');
    expect(await holder.outcome).toBe('held');
    holder.child.kill('SIGKILL');
    await holder.exited;
    expect(JSON.parse(readFileSync(lockFile(dir), 'utf8')).pid).toBe(holder.child.pid);

    const release = acquireDataDirLock(dir);
    expect(JSON.parse(readFileSync(lockFile(dir), 'utf8')).pid).toBe(process.pid);
    release();
  }, 30_000);

  it('is not blocked by a lock file naming this very process (a restarted container is pid 1 again)', () => {
    const dir = newFolder();
    writeFileSync(
      lockFile(dir),
      JSON.stringify({
        pid: process.pid,
        host: hostname(),
        startedAt: '2026-01-01T00:00:00.000Z',
        command: 'x',
      }),
    );
    const release = acquireDataDirLock(dir);
    expect(JSON.parse(readFileSync(lockFile(dir), 'utf8')).startedAt).not.toBe('2026-01-01T00:00:00.000Z');
    release();
  });

  it('grants the folder to exactly one of several processes that try at the same moment', async () => {
    const dir = newFolder();
    const contenders = await Promise.all([1, 2, 3, 4].map(() => contender(dir)));
    for (const c of contenders) c.child.stdin!.write('go\n');
    const outcomes = await Promise.all(contenders.map((c) => c.outcome));
    expect(outcomes.filter((o) => o === 'held')).toHaveLength(1);
    const winner = contenders[outcomes.indexOf('held')]!;
    for (const [i, outcome] of outcomes.entries()) {
      if (outcome === 'held') continue;
      expect(outcome).toContain(`in use by process ${winner.child.pid}`);
      expect(await contenders[i]!.exited).toBe(1);
    }
  }, 60_000);

  it('leaves the file empty after a clean release, naming no one', () => {
    const dir = newFolder();
    acquireDataDirLock(dir)();
    expect(readFileSync(lockFile(dir), 'utf8')).toBe('');
  });

  describe('where no OS lock is available (a pid file)', () => {
    const pidFile = { osLock: null };
    /** A lock file left by a process that no longer exists on this host. */
    const deadHolder = (dir: string) =>
      writeFileSync(
        lockFile(dir),
        JSON.stringify({
          pid: 2 ** 22 + 12345,
          host: hostname(),
          startedAt: '2026-01-01T00:00:00.000Z',
          command: 'x',
        }),
      );

    it('refuses while the holder runs and takes over a lock left by a process that no longer exists', () => {
      const dir = newFolder();
      const release = acquireDataDirLock(dir, pidFile);
      expect(() => acquireDataDirLock(dir, pidFile)).toThrow(/in use by process \d+/);
      release();
      deadHolder(dir);
      const again = acquireDataDirLock(dir, pidFile);
      expect(JSON.parse(readFileSync(lockFile(dir), 'utf8')).pid).toBe(process.pid);
      again();
      expect(readdirSync(dir)).toEqual([]);
    });

    it('counts an empty lock file as held while it is young: its holder may not have written itself yet', () => {
      const dir = newFolder();
      writeFileSync(lockFile(dir), '');
      expect(() => acquireDataDirLock(dir, pidFile)).toThrow(
        /in use by another process \(it is starting up\)/,
      );
      expect(readFileSync(lockFile(dir), 'utf8')).toBe('');
      // Left empty for longer than any start takes: abandoned (a crash mid-write), so taken over.
      const old = (Date.now() - YOUNG_LOCK_MS - 1_000) / 1000;
      utimesSync(lockFile(dir), old, old);
      const release = acquireDataDirLock(dir, pidFile);
      expect(JSON.parse(readFileSync(lockFile(dir), 'utf8')).pid).toBe(process.pid);
      release();
    });

    it('grants the folder to exactly one of several processes that try at the same moment, free or left stale', async () => {
      for (const stale of [false, true]) {
        const dir = newFolder();
        if (stale) deadHolder(dir);
        const contenders = await Promise.all([1, 2, 3, 4].map(() => contender(dir, { pidFile: true })));
        for (const c of contenders) c.child.stdin!.write('go\n');
        const outcomes = await Promise.all(contenders.map((c) => c.outcome));
        expect(
          outcomes.filter((o) => o === 'held'),
          outcomes.join('\n'),
        ).toHaveLength(1);
        const winner = contenders[outcomes.indexOf('held')]!;
        expect(JSON.parse(readFileSync(lockFile(dir), 'utf8')).pid).toBe(winner.child.pid);
        for (const outcome of outcomes.filter((o) => o !== 'held')) {
          expect(outcome).toContain(`in use by process ${winner.child.pid}`);
        }
        // Nothing left behind but the lock itself.
        expect(readdirSync(dir)).toEqual(['rekey.lock']);
      }
    }, 60_000);
  });
});
