import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { expect, it } from 'vitest';
import { startRekey } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { postVerify } from '../http/verify-server.ts';
import { runCliOnFolder } from '../support/run-cli-in-process.ts';
import { scratchFolder } from '../support/scratch-folder.ts';
import { startRekeyProcess } from '../support/spawn-rekey.ts';

const API_TOKEN = 'test-gateway-token-0123456789abcdef';

/*
 * One project folder's life on the embedded database, with the processes that are its subject: the
 * start that creates ./data (racing a second one, the riskiest moment for the folder lock) and a
 * holder killed with SIGKILL. Everything after the kill runs in this process, as the CLI and the next
 * start would. (A clean SIGTERM stop is test/e2e/npm-start.test.ts; the lock's own cases,
 * test/store/data-dir-lock.test.ts.)
 */
it('with no DATABASE_URL: of two servers started together the one that creates ./data runs and the other names it, the CLI is refused while it runs, and after a SIGKILL the folder opens at once with every key', async () => {
  const cwd = scratchFolder('rekey-embedded-');
  const env = { REKEY_API_TOKENS: API_TOKEN };

  const results = await Promise.allSettled([
    startRekeyProcess({ cwd, env }),
    startRekeyProcess({ cwd, env }),
  ]);
  const running = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const refused = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
  try {
    expect(running).toHaveLength(1);
    expect(refused).toHaveLength(1);
    expect(existsSync(join(cwd, 'data', 'PG_VERSION'))).toBe(true);
    // No Slack credentials, a folder it created: local mode (printed after "listening"), which marks
    // the folder as its own.
    await running[0]!.printed('Local mode: open');
    expect(existsSync(join(cwd, 'data', 'local-mode'))).toBe(true);
    expect(refused[0]).toMatchObject({ exitCode: 1 });
    const { output } = refused[0] as { output: string };
    expect(output).toContain(`in use by process ${running[0]!.child.pid}`);
    expect(output).toContain('set DATABASE_URL');

    // The CLI is refused too while the server holds the folder: no silent lost write.
    const blocked = await runCliOnFolder(['keys', 'list'], cwd);
    expect(blocked.code).toBe(1);
    expect(blocked.err).toContain('in use by process');
    // A mistyped command is answered for what it is, not with the lock it never needed.
    const mistyped = await runCliOnFolder(['keys', 'rotate', 'payments-api', '--delay', '2h', '--yes'], cwd);
    expect(mistyped.code).toBe(2);
    expect(mistyped.err).toContain('--delay must be one of now, 1h, 3h, 24h, 48h, 72h');
    expect(mistyped.err).not.toContain('in use');
  } finally {
    // Killed, not stopped: the lock must die with its holder, and the database survive the interruption.
    for (const server of running) expect(await server.stop('SIGKILL')).toBeNull();
  }

  // At once: no stale lock to wait out. The killed server had created the folder in local mode and
  // seeded its demo keys.
  const created = await runCliOnFolder(['keys', 'create', '--name', 'survivor', '--json'], cwd);
  expect(created.code, created.err).toBe(0);
  const { token } = JSON.parse(created.out) as { token: string };

  const restarted = await startRekey(
    loadConfig({
      PORT: '0',
      REKEY_DATA_DIR: join(cwd, 'data'),
      REKEY_API_TOKENS: API_TOKEN,
      LOG_LEVEL: 'silent',
    }),
    { logger: pino({ level: 'silent' }), host: '127.0.0.1' },
  );
  try {
    expect((await fetch(`${restarted.url}/healthz`)).status).toBe(200);
    expect((await restarted.services.listKeys()).map((k) => k.name)).toEqual([
      'payments-api',
      'search-api',
      'survivor',
    ]);
    expect((await postVerify(restarted.url, { key: token }, `Bearer ${API_TOKEN}`)).json).toMatchObject({
      valid: true,
      name: 'survivor',
      status: 'active',
    });
  } finally {
    await restarted.close();
  }
}, 240_000);
