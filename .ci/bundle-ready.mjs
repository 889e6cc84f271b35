// CI: the production build runs. Starts `node dist/main.js` once on a fresh embedded database (the
// README's default: local mode, its page and PGlite from node_modules), waits for /readyz to answer 200,
// checks the page is served, stops it with SIGTERM, then runs `node dist/cli.js keys list` on the same
// folder. Exits non-zero, saying why, on the first thing that does not work.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const fail = (why, output = '') => {
  console.error(`production build: ${why}\n${output}`);
  process.exit(1);
};
const port = await new Promise((resolve) => {
  const probe = createServer().listen(0, '127.0.0.1', () => {
    const { port: free } = probe.address();
    probe.close(() => resolve(free));
  });
});
const dataDir = join(mkdtempSync(join(tmpdir(), 'rekey-bundle-')), 'data');
const env = {
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  PORT: String(port),
  REKEY_DATA_DIR: dataDir,
  LOG_LEVEL: 'warn',
};
const started = performance.now();
const server = spawn(process.execPath, ['dist/main.js'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
let output = '';
server.stdout.on('data', (c) => {
  output += c;
});
server.stderr.on('data', (c) => {
  output += c;
});
const exited = new Promise((resolve) => server.once('exit', (code, signal) => resolve(code ?? signal)));

const base = `http://127.0.0.1:${port}`;
let ready = false;
while (!ready && performance.now() - started < 120_000 && server.exitCode === null) {
  ready = await fetch(`${base}/readyz`).then(
    (r) => r.status === 200,
    () => false,
  );
  if (!ready) await new Promise((r) => setTimeout(r, 100));
}
if (!ready) {
  const exitedAtStart = server.exitCode !== null;
  server.kill('SIGKILL');
  fail(
    exitedAtStart
      ? `node dist/main.js exited at start with ${server.exitCode}`
      : 'node dist/main.js did not answer 200 on /readyz within 120 s',
    output,
  );
}
console.log(`node dist/main.js: /readyz 200 after ${Math.round(performance.now() - started)} ms`);
const page = await fetch(`${base}/`);
if (page.status !== 200 || !(await page.text()).includes('<html'))
  fail(`GET / answered ${page.status}`, output);
console.log('node dist/main.js: local mode page served');
server.kill('SIGTERM');
const code = await exited;
if (code !== 0) fail(`node dist/main.js exited with ${code} on SIGTERM`, output);

const cli = spawnSync(process.execPath, ['dist/cli.js', 'keys', 'list'], { env, encoding: 'utf8' });
if (cli.status !== 0 || !cli.stdout.includes('payments-api')) {
  fail(`node dist/cli.js keys list exited with ${cli.status}`, `${cli.stdout}${cli.stderr}`);
}
console.log('node dist/cli.js keys list: lists the demo keys');
rmSync(dataDir, { recursive: true, force: true });
