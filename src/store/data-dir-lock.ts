import {
  closeSync,
  constants,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { createRequire } from 'node:module';
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

/** An exclusive lock on a whole open file that the OS drops when its holder closes it or dies. */
export interface OsFileLock {
  tryLock(fd: number): boolean;
}

/**
 * `fs-native-extensions` ships prebuilt addons (no compiler at install) for Linux (glibc) and macOS on
 * x64 and arm64, and for Windows. On Linux it takes an open-file-description lock (`F_OFD_SETLK`), on
 * macOS `flock`: both belong to our open file, so a second open in this same process is refused too,
 * and neither outlives the process. On a platform it has no build for (Alpine/musl, FreeBSD…) it does not
 * load, and the folder falls back to the pid file below, with its weakness: a crashed holder's file
 * stops the next start if its pid is alive again.
 */
function loadOsFileLock(): OsFileLock | null {
  try {
    return createRequire(import.meta.url)('fs-native-extensions') as OsFileLock;
  } catch {
    return null;
  }
}

const osFileLock = loadOsFileLock();

function readLock(path: string): LockInfo | null {
  try {
    const info = JSON.parse(readFileSync(path, 'utf8')) as LockInfo;
    return typeof info?.pid === 'number' ? info : null;
  } catch {
    return null;
  }
}

function lockedError(dir: string, holder: LockInfo | null): AppError {
  const who = holder
    ? `process ${holder.pid} on ${holder.host} (started ${holder.startedAt}: ${holder.command})`
    : 'another process (it is starting up)';
  return new AppError(
    'DATA_DIR_LOCKED',
    `The embedded database in ${dir} is in use by ${who}. Only one process may open it at a time: ` +
      'stop that process first, or set DATABASE_URL to a PostgreSQL server so several processes can share it.',
  );
}

/**
 * PGlite is one connection in one process: two processes opening the same folder both succeed and
 * silently lose each other's writes. So the folder's `rekey.lock` is held under an exclusive OS lock for
 * as long as the database is open. Only that lock decides who holds the folder: it dies with its
 * holder (a crash, an OOM kill, a container restart that reuses pid 1 leave nothing behind) and the
 * OS grants it to one process at a time. The holder's pid, host, start time and command are written
 * in the file only so that a refusal can say who holds it.
 */
export function acquireDataDirLock(
  dataDir: string,
  options: { osLock?: OsFileLock | null } = {},
): () => void {
  const dir = resolve(dataDir);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, LOCK_FILE);
  const info: LockInfo = {
    pid: process.pid,
    host: hostname(),
    startedAt: new Date().toISOString(),
    command: process.argv.slice(1).join(' ').slice(0, 200),
  };
  const osLock = options.osLock === undefined ? osFileLock : options.osLock;
  if (!osLock) return acquirePidFileLock(dir, path, info);

  // Never deleted or replaced: a process that opened the old file would lock a file nobody else sees.
  const fd = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o644);
  let locked = false;
  try {
    // A holder writes its details just after it takes the lock: until then the file is empty, or still
    // names a holder that died. Ask again for a moment so that the refusal can name the real holder.
    for (let attempt = 0; ; attempt++) {
      locked = osLock.tryLock(fd);
      if (locked) break;
      const holder = readLock(path);
      const current = holder !== null && (holder.host !== info.host || isAlive(holder.pid));
      if (current || attempt >= 20) throw lockedError(dir, current ? holder : null);
      sleepSync(50);
    }
  } finally {
    if (!locked) closeSync(fd);
  }
  ftruncateSync(fd, 0);
  writeSync(fd, JSON.stringify(info), 0);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    try {
      ftruncateSync(fd, 0);
    } finally {
      // Closing our only descriptor of the file is what releases the lock.
      closeSync(fd);
    }
  };
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
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

/**
 * Where no OS lock loads: `O_EXCL` creation is atomic, and a file left by a process that is gone from
 * this host is taken over. Unlike the OS lock, it trusts the pid.
 */
function acquirePidFileLock(dir: string, path: string, info: LockInfo): () => void {
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
      const stale = holder === null || (holder.host === info.host && !isAlive(holder.pid));
      if (stale) {
        // Empty or unreadable (a crash mid-write, or a clean stop under the OS lock), or its process
        // is gone: take it over.
        rmSync(path, { force: true });
        continue;
      }
      throw lockedError(dir, holder);
    }
  }
  throw new AppError(
    'DATA_DIR_LOCKED',
    `Could not take the lock on ${path}; remove it if no rekey process is running.`,
  );
}
