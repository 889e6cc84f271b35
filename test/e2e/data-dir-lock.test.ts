import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { expect, it } from 'vitest';
import { startRekey } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { projectWithData } from '../support/prepared-data-dir.ts';
import { type RunningRekey, startRekeyProcess } from '../support/spawn-rekey.ts';

const newProject = () => mkdtempSync(join(tmpdir(), 'rekey-lock-e2e-'));

it('starts at once on ./data after the server that held it was SIGKILLed', async () => {
  // An existing ./data (the lock left by a killed holder is the subject, not the folder's creation).
  const cwd = projectWithData('rekey-lock-e2e-');
  const killed = await startRekeyProcess({ cwd });
  expect(await killed.stop('SIGKILL')).toBeNull();

  // The next start, in this process (the killed one is the process under test): the lock is free and
  // the database the kill interrupted opens.
  const next = await startRekey(
    loadConfig({ PORT: '0', REKEY_DATA_DIR: join(cwd, 'data'), LOG_LEVEL: 'silent' }),
    { logger: pino({ level: 'silent' }), host: '127.0.0.1' },
  );
  try {
    expect((await fetch(`${next.url}/healthz`)).status).toBe(200);
  } finally {
    await next.close();
  }
}, 240_000);

it('of two servers started together on one ./data, exactly one runs and the other names it', async () => {
  // No ./data yet: both race to create it, the riskiest moment for the lock.
  const cwd = newProject();
  const results = await Promise.allSettled([startRekeyProcess({ cwd }), startRekeyProcess({ cwd })]);
  const running = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const refused = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
  try {
    expect(running).toHaveLength(1);
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ exitCode: 1 });
    expect((refused[0] as { output: string }).output).toContain(`in use by process ${running[0]!.child.pid}`);
  } finally {
    await Promise.all(running.map((r: RunningRekey) => r.stop()));
  }
}, 240_000);
