import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const README = fileURLToPath(new URL('../../README.md', import.meta.url));
const START = '<!-- nginx-config:start -->';
const END = '<!-- nginx-config:end -->';

/** The placeholders the README tells readers to replace, and nothing else is changed. */
export const PLACEHOLDERS = {
  rekey: '127.0.0.1:3000',
  api: '127.0.0.1:9000',
  listen: '127.0.0.1:8080',
  token: 'REPLACE_WITH_ONE_OF_REKEY_API_TOKENS',
} as const;

/** The nginx block of the README's "Put rekey in front of your API" section, byte for byte. */
export function readmeNginxBlock(): string {
  const readme = readFileSync(README, 'utf8');
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error(`README.md has no ${START} … ${END} section`);
  const fenced = /```nginx\n([\s\S]*?)```/.exec(readme.slice(start, end));
  if (!fenced) throw new Error('README.md: no ```nginx block between the nginx-config markers');
  return fenced[1]!;
}

/** The README's block with its placeholders replaced; fails if one of them is no longer there. */
export function gatewayConfig(values: Record<keyof typeof PLACEHOLDERS, string>): string {
  let block = readmeNginxBlock();
  for (const [name, placeholder] of Object.entries(PLACEHOLDERS)) {
    if (!block.includes(placeholder)) {
      throw new Error(`README.md's nginx block no longer contains the placeholder ${placeholder}`);
    }
    block = block.replaceAll(placeholder, values[name as keyof typeof PLACEHOLDERS]);
  }
  return block;
}

/**
 * The README's nginx block in front of rekey (`rekey`, host:port) and an API (`api`), on a free
 * loopback port: what every gateway test runs.
 */
export async function startGateway(upstreams: { rekey: string; api: string; token: string }) {
  const port = await freePort();
  return startNginx(gatewayConfig({ ...upstreams, listen: `127.0.0.1:${port}` }), port);
}

/** A loopback port nobody listens on right now (nginx cannot be told to pick one itself). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createNetServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

function nginxBinary(): string {
  const fromEnv = process.env.NGINX;
  if (fromEnv) return fromEnv;
  const found = spawnSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' }).stdout.trim();
  if (found) return found;
  if (existsSync('/usr/sbin/nginx')) return '/usr/sbin/nginx';
  throw new Error('nginx is not installed (apt-get install nginx; .ci/run installs it)');
}

export interface RunningNginx {
  url: string;
  errorLog(): string;
  stop(): Promise<void>;
}

/**
 * nginx in the foreground as one process (no master, no privilege drop), with every path it writes
 * (pid, error log, temp files) in a fresh temporary folder, listening on `port`. Rejects with nginx's
 * own words when it cannot start.
 */
export async function startNginx(httpBlock: string, port: number): Promise<RunningNginx> {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-nginx-'));
  const conf = join(dir, 'nginx.conf');
  const errorLog = join(dir, 'error.log');
  writeFileSync(
    conf,
    [
      'daemon off;',
      'master_process off;',
      'worker_processes 1;',
      `pid ${dir}/nginx.pid;`,
      `error_log ${errorLog} warn;`,
      'events { worker_connections 256; }',
      'http {',
      '    access_log off;',
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `    ${t}_temp_path ${dir}/${t};`),
      httpBlock,
      '}',
      '',
    ].join('\n'),
  );
  const binary = nginxBinary();
  const child: ChildProcess = spawn(binary, ['-p', dir, '-c', conf, '-e', errorLog], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => {
    output += c.toString();
  });
  child.stderr!.on('data', (c: Buffer) => {
    output += c.toString();
  });
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', (error) => {
      output += String(error);
      resolve(-1);
    });
  });
  const readLog = () => (existsSync(errorLog) ? readFileSync(errorLog, 'utf8') : '');
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = performance.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const log = readLog();
      await stop();
      throw new Error(`nginx (${binary}) exited at start:\n${output}\n${log}`);
    }
    if (await accepts(port)) break;
    if (performance.now() > deadline) {
      const log = readLog();
      await stop();
      throw new Error(`nginx did not listen on 127.0.0.1:${port} within 10 s:\n${output}\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url: `http://127.0.0.1:${port}`, errorLog: readLog, stop };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
