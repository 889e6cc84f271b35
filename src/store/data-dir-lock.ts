import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { AppError } from '../errors.ts';

const LOCK_FILE = 'rekey.lock';

interface LockInfo {
  pid: number;
  host: string;
  startedAt: string;
  command: string;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else — still a holder.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readLock(path: string): LockInfo | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as LockInfo;
  } catch {
    return null;
  }
}

/**
 * PGlite is one connection in one process: two processes opening the same folder both succeed and
 * silently lose each other's writes. This lock file makes the second one stop with a clear message.
 * `O_EXCL` creation is atomic; a lock left by a dead process on this host is taken over.
 */
export function acquireDataDirLock(dataDir: string): () => void {
  const dir = resolve(dataDir);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, LOCK_FILE);
  const info: LockInfo = {
    pid: process.pid,
    host: hostname(),
    startedAt: new Date().toISOString(),
    command: process.argv.slice(1).join(' ').slice(0, 200),
  };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, JSON.stringify(info));
      closeSync(fd);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        if (readLock(path)?.pid === process.pid) rmSync(path, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = readLock(path);
      const stale = holder !== null && holder.host === info.host && !isAlive(holder.pid);
      if (holder === null || stale) {
        // Unreadable (a crash mid-write) or its process is gone: take it over.
        rmSync(path, { force: true });
        continue;
      }
      throw new AppError(
        'DATA_DIR_LOCKED',
        `The embedded database in ${dir} is in use by process ${holder.pid} on ${holder.host} ` +
          `(started ${holder.startedAt}: ${holder.command}). Only one process may open it at a time: ` +
          'stop that process first, or set DATABASE_URL to a PostgreSQL server so several processes can share it.',
      );
    }
  }
  throw new AppError(
    'DATA_DIR_LOCKED',
    `Could not take the lock on ${path}; remove it if no rekey process is running.`,
  );
}
