import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { projectWithData } from '../support/prepared-data-dir.ts';
import { runCliCommandsOnFolder } from '../support/run-cli-in-process.ts';
import { startRekeyProcess } from '../support/spawn-rekey.ts';

const API_TOKEN = 'local-mode-folder-e2e-gateway-token-0001';

async function verify(url: string, key: string) {
  const res = await fetch(`${url}/v1/keys/verify`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ key }),
  });
  return res.json();
}

/**
 * `npx rekey … --json` on the project's ./data, each command's parsed output (in this process, with
 * ./data opened once: the subject here is `npm start`).
 */
async function cliJson(cwd: string, ...commands: string[][]) {
  const runs = await runCliCommandsOnFolder(
    commands.map((args) => [...args, '--json']),
    cwd,
  );
  return runs.map((run) => {
    expect(run.code, run.err).toBe(0);
    return JSON.parse(run.out);
  });
}

// The folder is one the CLI made (a prepared copy: migrated, no local-mode marker); what is under test
// is what `npm start`, in its own process, prints and serves on it.

it('npm start without Slack credentials on a folder whose keys the CLI created: no page, a clear message, keys untouched', async () => {
  const cwd = projectWithData('rekey-cli-folder-');
  const [{ token }] = await cliJson(cwd, ['keys', 'create', '--name', 'billing', '--products', 'api']);

  const rekey = await startRekeyProcess({ cwd, env: { REKEY_API_TOKENS: API_TOKEN } });
  try {
    expect((await fetch(`${rekey.url}/`)).status).toBe(404);
    expect((await fetch(`${rekey.url}/local/api/state?user=U0LINUS`)).status).toBe(404);
    const output = rekey.output();
    expect(output).toContain('Local mode did not start');
    expect(output).toContain('holds keys that local mode did not create (such as "billing")');
    expect(output).toContain('set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET');
    expect(output).toContain('REKEY_DATA_DIR=./local-data npm start');
    expect(output).not.toContain('created demo keys');
    // The gateways keep their answers.
    expect(await verify(rekey.url, token)).toMatchObject({ valid: true, name: 'billing' });
  } finally {
    expect(await rekey.stop()).toBe(0);
  }

  const [list, audit] = await cliJson(cwd, ['keys', 'list'], ['keys', 'audit', 'billing']);
  expect(list.map((k: { name: string }) => k.name)).toEqual(['billing']);
  expect(audit.events.map((e: { action: string }) => e.action)).toEqual(['create']);
  expect(existsSync(join(cwd, 'data', 'local-mode'))).toBe(false);
}, 240_000);

// On an empty folder the CLI created, the same start gives another reason: test/local/local-mode-folder.test.ts.
