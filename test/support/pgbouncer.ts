import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { freePort } from '../gateway/nginx.ts';

function pgbouncerBinary(): string {
  const fromEnv = process.env.PGBOUNCER;
  if (fromEnv) return fromEnv;
  const found = spawnSync('sh', ['-c', 'command -v pgbouncer'], { encoding: 'utf8' }).stdout.trim();
  if (found) return found;
  if (existsSync('/usr/sbin/pgbouncer')) return '/usr/sbin/pgbouncer';
  throw new Error('pgbouncer is not installed (apt-get install pgbouncer; .ci/run installs it)');
}

export interface RunningPgbouncer {
  /** `serverUrl` with its host and port replaced by PgBouncer's: the same database, pooled. */
  urlFor(serverUrl: string): string;
  /** What PgBouncer printed and logged (for a failure's message). */
  log(): string;
  stop(): Promise<void>;
}

/**
 * Debian's PgBouncer in front of the PostgreSQL server of `serverUrl`, in transaction pooling mode,
 * with every database of that server reachable through it (`* =`) and at most `poolSize` server
 * connections per database: clients outnumber server connections, so consecutive transactions of
 * one client run on different server connections, as in production. It refuses to run as root, so
 * as root it runs as the `postgres` user (every file it reads or writes is in a folder that user may use).
 */
export async function startPgbouncer(
  serverUrl: string,
  options: { poolSize?: number } = {},
): Promise<RunningPgbouncer> {
  const server = new URL(serverUrl);
  const user = decodeURIComponent(server.username || 'postgres');
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'rekey-pgbouncer-'));
  chmodSync(dir, 0o777);
  const logFile = join(dir, 'pgbouncer.log');
  const ini = join(dir, 'pgbouncer.ini');
  writeFileSync(join(dir, 'userlist.txt'), `"${user}" ""\n`);
  writeFileSync(
    ini,
    [
      '[databases]',
      `* = host=${server.hostname} port=${server.port || 5432}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      // The test server trusts loopback; PgBouncer only checks that the user is listed.
      'auth_type = trust',
      `auth_file = ${dir}/userlist.txt`,
      'pool_mode = transaction',
      `default_pool_size = ${options.poolSize ?? 4}`,
      'max_client_conn = 1000',
      'max_db_connections = 0',
      `logfile = ${logFile}`,
      `pidfile = ${dir}/pgbouncer.pid`,
      'log_connections = 0',
      'log_disconnections = 0',
      '',
    ].join('\n'),
  );
  for (const file of ['userlist.txt', 'pgbouncer.ini']) chmodSync(join(dir, file), 0o644);

  const binary = pgbouncerBinary();
  const asRoot = process.getuid?.() === 0;
  const child: ChildProcess = asRoot
    ? spawn('runuser', ['-u', 'postgres', '--', binary, ini], { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(binary, [ini], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (c: Buffer) => {
    output += c.toString();
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', (error) => {
      output += String(error);
      resolve();
    });
  });
  const log = () => `${output}${existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  const urlFor = (url: string) => {
    const pooled = new URL(url);
    pooled.hostname = '127.0.0.1';
    pooled.port = String(port);
    return pooled.toString();
  };

  // Ready once a query goes through it to the server.
  const deadline = performance.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const text = log();
      await stop();
      throw new Error(`pgbouncer (${binary}) exited at start:\n${text}`);
    }
    const probe = postgres(urlFor(serverUrl), {
      max: 1,
      prepare: false,
      connect_timeout: 2,
      onnotice: () => {},
    });
    const answered = await probe`select 1`.then(
      () => true,
      () => false,
    );
    await probe.end({ timeout: 1 });
    if (answered) break;
    if (performance.now() > deadline) {
      const text = log();
      await stop();
      throw new Error(`pgbouncer did not answer on 127.0.0.1:${port} within 10 s:\n${text}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { urlFor, log, stop };
}
