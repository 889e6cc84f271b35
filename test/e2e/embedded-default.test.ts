import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { expect, it } from 'vitest';
import { startRekey } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { runCliOnFolder } from '../support/run-cli-in-process.ts';
import { startRekeyProcess } from '../support/spawn-rekey.ts';

const API_TOKEN = 'test-gateway-token-0123456789abcdef';

async function verify(url: string, key: string) {
  const res = await fetch(`${url}/v1/keys/verify`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ key }),
  });
  return res.json();
}

it('with no DATABASE_URL, creates ./data, keeps its keys across a restart, and refuses a second process on the folder', async () => {
  const cwd = mkdtempSync(join(tmpdir(), 'rekey-embedded-'));
  const env = { REKEY_API_TOKENS: API_TOKEN };

  const first = await startRekeyProcess({ cwd, env });
  expect(existsSync(join(cwd, 'data'))).toBe(true);

  const second = await startRekeyProcess({ cwd, env }).catch(
    (error: { exitCode: number; output: string }) => error,
  );
  expect(second).toMatchObject({ exitCode: 1 });
  expect((second as { output: string }).output).toContain(`in use by process ${first.child.pid}`);
  expect((second as { output: string }).output).toContain('set DATABASE_URL');

  // The CLI is refused too while the server holds the folder: no silent lost write. (The CLI runs in
  // this process, as src/cli/main.ts would: the binary itself is tested in test/cli/cli.test.ts.)
  const blocked = await runCliOnFolder(['keys', 'list'], cwd);
  expect(blocked.code).toBe(1);
  expect(blocked.err).toContain('in use by process');

  expect(await first.stop()).toBe(0);

  const created = await runCliOnFolder(['keys', 'create', '--name', 'survivor', '--json'], cwd);
  expect(created.code).toBe(0);
  const { token } = JSON.parse(created.out) as { token: string };

  // Restarted (in this process: the start that created ./data and the one refused were the processes
  // under test), it still answers for the key.
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
    expect(await verify(restarted.url, token)).toMatchObject({
      valid: true,
      name: 'survivor',
      status: 'active',
    });
  } finally {
    await restarted.close();
  }
}, 240_000);
