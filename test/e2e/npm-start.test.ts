import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { postVerify } from '../http/verify-server.ts';
import { projectWithData } from '../support/prepared-data-dir.ts';
import { runCliCommandsOnFolder } from '../support/run-cli-in-process.ts';
import { type RunningRekey, startRekeyProcess } from '../support/spawn-rekey.ts';

const API_TOKEN = 'npm-start-e2e-gateway-token-000000001';

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

/*
 * One rekey process, what `npm start` runs, for the two things only a process shows: what it prints
 * at start and how it stops on SIGTERM. Its folder is one the CLI made (a prepared copy: migrated, no
 * local-mode marker) holding a key the CLI created. The tests run in order: the second stops it.
 */
let cwd: string;
let token: string;
let rekey: RunningRekey;
beforeAll(async () => {
  cwd = await projectWithData('rekey-npm-start-');
  [{ token }] = await cliJson(cwd, ['keys', 'create', '--name', 'billing', '--products', 'api']);
  rekey = await startRekeyProcess({ cwd, env: { REKEY_API_TOKENS: API_TOKEN } });
}, 120_000);
afterAll(async () => {
  if (rekey.child.exitCode === null) await rekey.stop('SIGKILL');
});

it('without Slack credentials on a folder whose keys the CLI created: no page, a clear message, and the gateways keep their answers', async () => {
  expect((await fetch(`${rekey.url}/`)).status).toBe(404);
  expect((await fetch(`${rekey.url}/local/api/state?user=U0LINUS`)).status).toBe(404);
  await rekey.printed('REKEY_DATA_DIR=./local-data npm start');
  const output = rekey.output();
  expect(output).toContain('Local mode did not start');
  expect(output).toContain('holds keys that local mode did not create (such as "billing")');
  expect(output).toContain('set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET');
  expect(output).not.toContain('created demo keys');
  expect((await postVerify(rekey.url, { key: token }, `Bearer ${API_TOKEN}`)).json).toMatchObject({
    valid: true,
    name: 'billing',
  });
});

it('on SIGTERM finishes the request in flight, stops, exits 0 within 10 s, and leaves the keys as they were', async () => {
  const { port, hostname } = new URL(rekey.url);
  const socket = connect(Number(port), hostname);
  await new Promise((resolve) => socket.once('connect', resolve));
  const body = JSON.stringify({ key: token });
  let response = '';
  socket.on('data', (chunk) => {
    response += chunk.toString();
  });
  // A request in flight: headers and part of the body sent before the signal.
  socket.write(
    `POST /v1/keys/verify HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${API_TOKEN}\r\n` +
      `content-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body.slice(0, 5)}`,
  );
  await new Promise((r) => setTimeout(r, 200));
  const signalled = performance.now();
  rekey.child.kill('SIGTERM');
  // The rest of the body arrives once shutdown has begun.
  await rekey.printed('shutting down');
  socket.write(body.slice(5));
  const code = await rekey.exited;
  const elapsed = performance.now() - signalled;
  expect(response).toMatch(/^HTTP\/1\.1 200/);
  expect(response).toContain('"valid":true');
  expect(code).toBe(0);
  expect(elapsed).toBeLessThan(10_000);
  // New connections are refused once it is gone.
  await expect(fetch(`${rekey.url}/healthz`)).rejects.toThrow('fetch failed');

  const [list, audit] = await cliJson(cwd, ['keys', 'list'], ['keys', 'audit', 'billing']);
  expect(list.map((k: { name: string }) => k.name)).toEqual(['billing']);
  expect(audit.events.map((e: { action: string }) => e.action)).toEqual(['create']);
  expect(existsSync(join(cwd, 'data', 'local-mode'))).toBe(false);
}, 60_000);

// On an empty folder the CLI created, the same start gives another reason: test/local/local-mode-folder.test.ts.
