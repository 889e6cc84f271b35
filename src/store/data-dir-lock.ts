import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fstatSync,
  ftruncateSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
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

function parseLock(text: string): LockInfo | null {
  try {
    const info = JSON.parse(text) as LockInfo;
    return typeof info?.pid === 'number' ? info : null;
  } catch {
    return null;
  }
}

function readLock(path: string): LockInfo | null {
  try {
    return parseLock(readFileSync(path, 'utf8'));
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

/** A lock file with no holder written in it this young may be a holder still starting: it counts as held. */
export const YOUNG_LOCK_MS = 10_000;

/** The lock file as one read saw it: the same file (inode) and the same bytes are the same lock. */
interface SeenLock {
  ino: number;
  text: string;
  holder: LockInfo | null;
  ageMs: number;
}

function seeLock(path: string): SeenLock | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  try {
    const stat = fstatSync(fd);
    const text = readFileSync(fd, 'utf8');
    return { ino: stat.ino, text, holder: parseLock(text), ageMs: Date.now() - stat.mtimeMs };
  } finally {
    closeSync(fd);
  }
}

/**
 * Where no OS lock loads, the lock is the existence of `rekey.lock`, and it must never admit two
 * processes:
 * - It appears whole: the holder's details are written to a file of its own, which is then hard-linked
 *   as `rekey.lock` — atomic, and refused if the name exists. So no one ever reads a lock half-written.
 * - A lock naming a live process, or naming nobody but younger than YOUNG_LOCK_MS, is held.
 * - A stale one (its process is gone from this host, or it names nobody and is older) is taken over by
 *   one process at a time: whoever creates `rekey.lock.break-<that lock>` first (atomic too) checks it
 *   is still that same file and removes it; everyone then races for the name again, and one wins.
 * Unlike the OS lock, it trusts the pid: a crashed holder's file stops the next start if its pid is
 * alive again (the refusal says what to remove).
 */
function acquirePidFileLock(dir: string, path: string, info: LockInfo): () => void {
  const mine = JSON.stringify(info);
  for (let attempt = 0; attempt < 50; attempt++) {
    if (linkWhole(path, mine)) {
      let released = false;
      return () => {
        if (released) return;
        released = true;
        // Only our own file: nobody replaces a lock whose holder is alive.
        if (seeLock(path)?.text === mine) rmSync(path, { force: true });
      };
    }
    const seen = seeLock(path);
    if (!seen) continue; // released meanwhile: race for it again
    const { holder } = seen;
    const stale = holder ? holder.host === info.host && !isAlive(holder.pid) : seen.ageMs > YOUNG_LOCK_MS;
    if (!stale) throw lockedError(dir, holder);
    if (!breakStaleLock(path, seen)) sleepSync(20); // someone else is taking it over: see who won
  }
  throw new AppError(
    'DATA_DIR_LOCKED',
    `Could not take the lock on ${path}: it kept changing hands. If no rekey process is running, ` +
      `remove ${path} and any ${LOCK_FILE}.break-* next to it.`,
  );
}

/** Creates `path` holding `text`, whole, unless it exists already (false then). */
function linkWhole(path: string, text: string): boolean {
  const draft = `${path}.${process.pid}.${randomBytes(6).toString('hex')}`;
  writeFileSync(draft, text, { flag: 'wx' });
  try {
    linkSync(draft, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    rmSync(draft, { force: true });
  }
}

/**
 * Removes the stale lock `seen`, if this process is the one to do it and it is still that very file.
 * False if another process is removing it: the caller looks again.
 */
function breakStaleLock(path: string, seen: SeenLock): boolean {
  const id = createHash('sha256').update(`${seen.ino}:${seen.text}`).digest('hex').slice(0, 16);
  const breaker = `${path}.break-${id}`;
  try {
    closeSync(openSync(breaker, 'wx'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    // Only a breaker of this very lock removes it, and that is us: it cannot change between this look
    // and the removal. If it already changed (taken over and re-taken since we read it), leave it.
    const now = seeLock(path);
    if (now && now.ino === seen.ino && now.text === seen.text) rmSync(path);
  } finally {
    rmSync(breaker, { force: true });
  }
  return true;
}
