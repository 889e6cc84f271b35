import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireDataDirLock } from '../../src/store/data-dir-lock.ts';

describe('the embedded database folder lock', () => {
  it('lets one holder in and tells a second who holds it and what to do', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rekey-lock-'));
    const release = acquireDataDirLock(dir);
    expect(() => acquireDataDirLock(dir)).toThrow(
      /in use by process \d+.*stop that process first, or set DATABASE_URL/s,
    );
    release();
  });

  it('takes over a lock left by a process that no longer exists', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rekey-lock-'));
    const release = acquireDataDirLock(dir);
    const info = JSON.parse(readFileSync(join(dir, 'rekey.lock'), 'utf8'));
    writeFileSync(join(dir, 'rekey.lock'), JSON.stringify({ ...info, pid: 2 ** 22 + 12345 }));
    const again = acquireDataDirLock(dir);
    expect(JSON.parse(readFileSync(join(dir, 'rekey.lock'), 'utf8')).pid).toBe(process.pid);
    again();
    release();
  });
});
