import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeSlack, startFakeSlack } from '../fake-slack/index.ts';
import { postVerify } from '../http/verify-server.ts';
import { BOT_TOKEN, SIGNING_SECRET } from '../slack/harness.ts';
import { projectWithData } from '../support/prepared-data-dir.ts';
import { runCliCommandsOnFolder } from '../support/run-cli-in-process.ts';
import { type RunningRekey, startRekeyProcess } from '../support/spawn-rekey.ts';

const API_TOKEN = 'npm-start-e2e-gateway-token-000000001';

/**
 * `npx rekey … --json` on a project's ./data, each command's parsed output (in this process, with
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

/** A project folder whose ./data holds one key the CLI created; its key string. */
async function projectWithKey(prefix: string): Promise<{ cwd: string; token: string }> {
  const cwd = await projectWithData(prefix);
  const [{ token }] = await cliJson(cwd, ['keys', 'create', '--name', 'billing', '--products', 'api']);
  return { cwd, token };
}

/** The uses of the key's current secret that reached the database, as `keys show --json` gives them. */
const usesOf = (shown: { current: { uses: { last24h: number } } }) => shown.current.uses.last24h;

/** node under `npm start` (npm runs `sh -c 'exec node …'`, so node is npm's only child). */
function nodePidOf(rekey: RunningRekey): number {
  const npm = rekey.child.pid!;
  const children = readFileSync(`/proc/${npm}/task/${npm}/children`, 'utf8').trim().split(/\s+/);
  expect(children).toHaveLength(1);
  return Number(children[0]);
}

/** What Ctrl-C in a terminal and systemd's `KillMode=control-group` do: signal every process of the group. */
function signalGroup(rekey: RunningRekey, signal: NodeJS.Signals): void {
  process.kill(-rekey.child.pid!, signal);
}

/** `npm start`, exactly the README's command, in a process group of its own (npm, then node). */
function npmStart(cwd: string, env: Record<string, string> = {}): Promise<RunningRekey> {
  return startRekeyProcess({
    cwd,
    npmStart: true,
    detached: true,
    env: {
      REKEY_DATA_DIR: join(cwd, 'data'),
      REKEY_API_TOKENS: API_TOKEN,
      // Longer than the test: every use it counts reaches the database only through the final flush.
      REKEY_USAGE_FLUSH: '5m',
      ...env,
    },
  });
}

async function verifyTimes(rekey: RunningRekey, token: string, times: number): Promise<void> {
  for (let i = 0; i < times; i++) {
    expect((await postVerify(rekey.url, { key: token }, `Bearer ${API_TOKEN}`)).json).toMatchObject({
      valid: true,
    });
  }
}

/*
 * Two `npm start`s, each on a folder the CLI made (a prepared copy: migrated, no local-mode marker)
 * holding a key the CLI created, for what only a process shows: what it prints at start, that nothing
 * sent to it from outside ends it, and how it stops when the whole group is signalled — npm passes
 * the signal on, so node receives it twice. They start together; each stop is its own test.
 */
let fake: FakeSlack;
let local: { cwd: string; token: string; rekey: RunningRekey };
let slack: { cwd: string; token: string; rekey: RunningRekey };
beforeAll(async () => {
  fake = await startFakeSlack({ botToken: BOT_TOKEN });
  const [a, b] = await Promise.all([projectWithKey('rekey-npm-start-'), projectWithKey('rekey-npm-slack-')]);
  const [first, second] = await Promise.all([
    npmStart(a.cwd),
    npmStart(b.cwd, {
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: fake.apiUrl,
    }),
  ]);
  local = { ...a, rekey: first };
  slack = { ...b, rekey: second };
}, 120_000);
afterAll(async () => {
  for (const run of [local?.rekey, slack?.rekey]) {
    if (run && run.child.exitCode === null && run.child.signalCode === null) signalGroup(run, 'SIGKILL');
  }
  await fake?.close();
});

it('without Slack credentials on a folder whose keys the CLI created: no page, a clear message, and the gateways keep their answers', async () => {
  const { rekey, token } = local;
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

describe('stopped by a signal to its whole process group (npm passes it on: node gets it twice)', () => {
  it('SIGTERM (systemctl stop): finishes the request in flight, exits 0 within 10 s, and every counted use is in the database', async () => {
    const { rekey, token, cwd } = local;
    // One use came from the test above; six more here, and the one in flight makes eight.
    await verifyTimes(rekey, token, 6);
    const { port, hostname } = new URL(rekey.url);
    const socket = connect(Number(port), hostname);
    // A cut connection shows as an empty answer below.
    socket.on('error', () => {});
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
    const node = nodePidOf(rekey);
    const signalled = performance.now();
    signalGroup(rekey, 'SIGTERM');
    await rekey.printed('shutting down');
    // The group's signal reaches node once or twice (two identical pending signals can merge): one more,
    // straight to node while it shuts down, so a second SIGTERM is certain to arrive during shutdown.
    process.kill(node, 'SIGTERM');
    await rekey.printed('already shutting down');
    // The rest of the body arrives once shutdown has begun.
    socket.write(body.slice(5));
    const code = await rekey.exited;
    const elapsed = performance.now() - signalled;
    expect(response).toMatch(/^HTTP\/1\.1 200/);
    expect(response).toContain('"valid":true');
    expect(code, rekey.output()).toBe(0);
    expect(elapsed).toBeLessThan(10_000);
    expect(rekey.output()).toContain('"signal":"SIGTERM"');
    // New connections are refused once it is gone.
    await expect(fetch(`${rekey.url}/healthz`)).rejects.toThrow('fetch failed');

    const [shown, list, audit] = await cliJson(
      cwd,
      ['keys', 'show', 'billing'],
      ['keys', 'list'],
      ['keys', 'audit', 'billing'],
    );
    expect(usesOf(shown)).toBe(8);
    expect(list.map((k: { name: string }) => k.name)).toEqual(['billing']);
    expect(audit.events.map((e: { action: string }) => e.action)).toEqual(['create']);
    expect(existsSync(join(cwd, 'data', 'local-mode'))).toBe(false);
  }, 60_000);

  it('SIGINT (Ctrl-C), after anonymous requests of every method on /slack/events: still alive, then exits 0 with every counted use in the database', async () => {
    const { rekey, token, cwd } = slack;
    await rekey.printed('"slackMode":"http"');
    // What a browser, an uptime probe or a stranger sends to Slack's public request URL: one such GET
    // once ended the process.
    for (const method of ['GET', 'HEAD', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'POST']) {
      for (const body of [undefined, 'payload=%7B%7D']) {
        const withBody = body !== undefined && method !== 'GET' && method !== 'HEAD';
        const answer = await fetch(`${rekey.url}/slack/events`, {
          method,
          ...(withBody ? { body, headers: { 'content-type': 'application/x-www-form-urlencoded' } } : {}),
        });
        await answer.arrayBuffer();
        expect(answer.status, `${method} /slack/events`).toBe(method === 'POST' ? 401 : 405);
      }
    }
    expect((await fetch(`${rekey.url}/healthz`)).status).toBe(200);
    await verifyTimes(rekey, token, 5);

    signalGroup(rekey, 'SIGINT');
    const code = await rekey.exited;
    expect(code, rekey.output()).toBe(0);
    expect(rekey.output()).toContain('"signal":"SIGINT"');
    expect(rekey.output()).not.toContain('request failed');
    const [shown] = await cliJson(cwd, ['keys', 'show', 'billing']);
    expect(usesOf(shown)).toBe(5);
  }, 60_000);
});

// On an empty folder the CLI created, the same start gives another reason: test/e2e/local-mode-folder.test.ts.
