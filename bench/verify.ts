/**
 * `npm run bench:verify`: rekey's verify route against a bare node:http server, side by side,
 * with the same load (autocannon, loopback, same connections and duration), on real PostgreSQL:
 * (a) the baseline, (b) verify on hot (cached) keys, (c) verify on made-up keys (well-formed, never
 * issued: the live-secret filter's flood), (d) 90 % hot / 5 % made-up / 5 % malformed, (e) the
 * gateways' forward-authorisation route on the hot keys, which should cost what (b) does, and (f) the
 * same verify load on a second rekey whose usage counter counts nothing (bench/rekey-counting-switch.ts,
 * counting off); then (g) what counting costs, measured on that one process with counting switched on
 * and off in alternating rounds, so nothing else differs; (h) the same comparison on verifyNow alone in
 * this process (no HTTP, no sockets: nearly free of noise); (k) the same for the filter's paths (hot,
 * made-up, mix); (l) and (m), what (g) and (h) measure for counting, for client attribution (who
 * presented each key) on a third rekey; (c) once more alone, with the database's own count of the
 * transactions it ran meanwhile; (j) issued keys not cached yet (batched lookups); and (n) canary keys
 * against made-up and unknown keys, over HTTP and on verifyNow alone (see measureCanaries).
 *
 *   DATABASE_URL  use this database (keys are added to it); otherwise a scratch database is created
 *                 on BENCH_ADMIN_URL (default postgres://postgres@127.0.0.1:5432/test) and dropped.
 *   BENCH_DURATION seconds per measurement (default 12), BENCH_CONNECTIONS (default 50),
 *   BENCH_ROUNDS (default 6): (a) to (f) alternate in this many rounds of DURATION/ROUNDS seconds (keep
 *                 it a whole number: autocannon runs whole seconds), a-b-c-d-e-f, b-c-d-e-f-a, …, so
 *                 none always goes first; (n)'s four runs alternate the same way.
 *   BENCH_ONLY=filter: only (b), (c) and (d), alternating, and (k). BENCH_ONLY=canary: only (n).
 *   BENCH_COUNTING_PAIRS (default 10) × 2 rounds of BENCH_COUNTING_SECONDS (default 2) for (g): on/off,
 *                 off/on, … (no side always first); per pair, the ratio of throughput and of server CPU
 *                 per request; their medians and ranges are the figures.
 *   BENCH_CLIENT_PAIRS (default 6): the same for (l), client attribution switched on and off on a third
 *                 rekey (BENCH_SWITCH=clients: counting on either way), for verify with a "client" body
 *                 and for authorize with X-Forwarded-For and User-Agent, hot keys each presented by 3
 *                 clients.
 *   BENCH_CANARIES (default 200): the canary keys (n) creates.
 *
 * Servers run as child processes; autocannon runs in this process, so load generation costs the same
 * for every run: each connection cycles through its own prebuilt list of requests (see `verifyLists`),
 * whatever the run sends. The machine has 2 cores: generator and server share them identically in each
 * run. Alternating the runs in short rounds keeps drift from other work on the machine from favouring
 * any side; their figures are totals over the rounds (p50/p99: the median round). (g), (l) and (n) run
 * the load generator bare, with no listener per response: their p50/p99 are autocannon's own, in whole
 * milliseconds.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import postgres from 'postgres';
import { systemClock } from '../src/clock.ts';
import { hashToken } from '../src/keys/hash.ts';
import { generateToken } from '../src/keys/token.ts';
import { NOT_FOUND } from '../src/keys/verification.ts';
import { createLogger } from '../src/logger.ts';
import { createCanaryTryRecorder } from '../src/services/canary-tries.ts';
import { createCanaryWatch } from '../src/services/canary-watch.ts';
import { createKey } from '../src/services/create-key.ts';
import { KeyChanges } from '../src/services/key-changes.ts';
import { createLiveSecretFilter } from '../src/services/live-secret-filter.ts';
import { UsageCounter, type UseSlot } from '../src/services/usage-counter.ts';
import { createVerifyCache, type VerifyCacheOptions } from '../src/services/verify-cache.ts';
import type { Db } from '../src/store/database.ts';
import { openPostgres } from '../src/store/open-postgres.ts';
import { seedKeys } from './seed.ts';

const DURATION = Number(process.env.BENCH_DURATION ?? 12);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const COUNTING_PAIRS = Number(process.env.BENCH_COUNTING_PAIRS ?? 10);
const COUNTING_SECONDS = Number(process.env.BENCH_COUNTING_SECONDS ?? 2);
const CLIENT_PAIRS = Number(process.env.BENCH_CLIENT_PAIRS ?? 6);
const CANARY_COUNT = Number(process.env.BENCH_CANARIES ?? 200);
/** BENCH_ONLY=filter: only (b), (c) and (d) in alternating rounds, and (k); BENCH_ONLY=canary: only (n). */
const ONLY = process.env.BENCH_ONLY;
if (ONLY !== undefined && ONLY !== 'filter' && ONLY !== 'canary') {
  throw new Error(`BENCH_ONLY=${ONLY}: expected filter or canary`);
}
const FILTER_ONLY = ONLY === 'filter';
const KEY_COUNT = 10_000;
const GRACE_SECRETS_PER_KEY = 14;
const HOT_KEYS = 100;
// REKEY_API_TOKENS entries must be at least 32 characters long.
const API_TOKEN = `bench-${randomBytes(16).toString('hex')}`;
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSX = import.meta.resolve('tsx');

interface Measured {
  label: string;
  /** Server CPU (user + system) per answered request, in µs; NaN where /proc is not available. */
  cpuUs: number;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  total: number;
  /** How long autocannon actually ran (it stops on a whole-second tick). */
  seconds: number;
}

function startChild(
  script: string,
  env: Record<string, string>,
): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', TSX, fileURLToPath(new URL(script, import.meta.url))], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening on (http:\/\/[\d.]+:\d+)/.exec(out);
      if (match) resolve({ child, url: match[1]! });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}:\n${out}`)));
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

type Request = {
  method: 'POST' | 'GET';
  path: string;
  body?: string;
  headers?: Record<string, string>;
};

/**
 * Requests are prebuilt lists, one per connection, each LIST_LENGTH long, for every run alike: autocannon
 * builds them once when the run starts and cycles through them, so the load generator does the same
 * work per request whatever the run sends (no per-request callback). Runs that need keys never seen
 * get fresh lists each round; LIST_LENGTH is more than a connection sends in a round.
 */
const LIST_LENGTH = 2_000;
type Lists = Request[][];

/** Who presented a key, as a gateway passes it (the verify body's `client`). */
interface Client {
  ip: string;
  userAgent: string;
}
type Nth<T> = (connection: number, i: number) => T;

/** Verify requests; with `clientFor`, each names its client in the body, byte for byte as a gateway does. */
function verifyLists(keyFor: Nth<string>, clientFor?: Nth<Client>): Lists {
  return Array.from({ length: CONNECTIONS }, (_, connection) =>
    Array.from({ length: LIST_LENGTH }, (_, i) => ({
      method: 'POST' as const,
      path: '/v1/keys/verify',
      body: JSON.stringify(
        clientFor
          ? { key: keyFor(connection, i), client: clientFor(connection, i) }
          : { key: keyFor(connection, i) },
      ),
    })),
  );
}

/**
 * What nginx auth_request sends: a GET with the client's key and the gateway's own token; with
 * `clientFor`, the client's address and user agent as nginx passes them on.
 */
function authorizeLists(keyFor: Nth<string>, clientFor?: Nth<Client>): Lists {
  return Array.from({ length: CONNECTIONS }, (_, connection) =>
    Array.from({ length: LIST_LENGTH }, (_, i) => {
      const headers: Record<string, string> = { 'x-api-key': keyFor(connection, i) };
      const client = clientFor?.(connection, i);
      if (client) {
        headers['x-forwarded-for'] = client.ip;
        headers['user-agent'] = client.userAgent;
      }
      return { method: 'GET' as const, path: '/v1/keys/authorize', headers };
    }),
  );
}

/** The hot keys, each connection starting at a different one. */
const hotKey = (hot: string[]) => (connection: number, i: number) => hot[(connection * 7 + i) % hot.length]!;

/**
 * (l) and (m): each hot key presented by CLIENTS_PER_KEY clients. Presentation n (of HOT_KEYS ×
 * CLIENTS_PER_KEY, each connection starting at a different one) is key n / CLIENTS_PER_KEY by client n.
 */
const CLIENTS_PER_KEY = 3;
function clientOf(n: number): Client {
  return {
    ip: `10.0.${(n >> 8) & 255}.${n & 255}`,
    userAgent: `python-requests/2.31 worker-${n % CLIENTS_PER_KEY}`,
  };
}
const presentation = (connection: number, i: number) => (connection * 7 + i) % (HOT_KEYS * CLIENTS_PER_KEY);
const hotKeyOfClient = (hot: string[]) => (connection: number, i: number) =>
  hot[Math.floor(presentation(connection, i) / CLIENTS_PER_KEY)]!;
const hotClient = (connection: number, i: number) => clientOf(presentation(connection, i));

/** Well-formed keys rekey never issued: what anyone can make, since the checksum is public. */
function madeUpKeys(count: number): string[] {
  return Array.from({ length: count }, () => generateToken('rk_live').token);
}

/** 90 % hot, 5 % made-up (never issued), 5 % malformed: in every 20 requests of each list. */
function mixLists(hot: string[]): Lists {
  const perList = Math.ceil(LIST_LENGTH / 20);
  const madeUp = madeUpKeys(CONNECTIONS * perList);
  const broken = Array.from({ length: CONNECTIONS * perList }, malformed);
  return verifyLists((connection, i) => {
    const slot = i % 20;
    const nth = connection * perList + Math.floor(i / 20);
    if (slot === 0) return madeUp[nth]!;
    if (slot === 10) return broken[nth]!;
    return hotKey(hot)(connection, i);
  });
}

const VERIFY_HEADERS = { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' };
const AUTHORIZE_HEADERS = { 'x-rekey-gateway-token': API_TOKEN };

/** CPU seconds a process has used so far (user + system), from /proc; NaN elsewhere. */
function cpuSeconds(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // utime and stime are fields 14 and 15 of stat(5), counted from the field after the command name.
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}
const CLOCK_TICKS = 100;

async function load(
  label: string,
  server: { url: string; child: ChildProcess },
  lists: Lists,
  duration = DURATION,
  headers: Record<string, string> = VERIFY_HEADERS,
  /** Keep every response time (for p50/p99): a listener per response, work for the load generator. */
  timed = true,
): Promise<Measured> {
  const { url } = server;
  await settle();
  const cpuBefore = cpuSeconds(server.child.pid);
  let connection = 0;
  const run = autocannon({
    url,
    connections: CONNECTIONS,
    duration,
    headers,
    // One request to start each connection with; its own list replaces it before it sends anything.
    requests: [lists[0]![0]] as never,
    setupClient: (client: { setRequests(requests: unknown): void }) =>
      client.setRequests(lists[connection++ % lists.length]),
  });
  // autocannon's own percentiles are whole milliseconds (3 ms vs 4 ms is the whole p99 goal's
  // margin); every 2xx response time is kept here instead, as the float it reports.
  const latencies: number[] = [];
  if (timed)
    run.on('response', (_client, status, _bytes, ms) => {
      if (status < 300) latencies.push(ms);
    });
  const result = await run;
  latencies.sort((x, y) => x - y);
  // Untimed (bare): autocannon's own, in whole milliseconds.
  const percentile = (p: 0.5 | 0.99) =>
    timed
      ? (latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? NaN)
      : result.latency[p === 0.5 ? 'p50' : 'p99'];
  const cpuUs = ((cpuSeconds(server.child.pid) - cpuBefore) * 1e6) / result.requests.total;
  if (label.includes('made-up') && result.requests.total > CONNECTIONS * LIST_LENGTH) {
    console.log(
      `    ${label}: ${result.requests.total} requests, more than the lists hold: some were repeats`,
    );
  }
  return {
    label,
    cpuUs,
    rps: result.requests.total / result.duration,
    p50: percentile(0.5),
    p99: percentile(0.99),
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    total: result.requests.total,
    seconds: result.duration,
  };
}

/**
 * Every measurement starts from the same state of the load generator: the previous run's garbage
 * collected (when node runs with --expose-gc, as `npm run bench:verify` does) and its closed
 * connections given a moment, so no run pays for the one before it.
 */
async function settle(): Promise<void> {
  (globalThis as { gc?: () => void }).gc?.();
  await new Promise((resolve) => setTimeout(resolve, 500));
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line ? Number(line.split(' ').pop()) : Number.NaN;
}

/**
 * Transactions the database has committed or rolled back so far (each statement outside a transaction
 * is one). Backends report them about a second after going idle, so this waits that long first.
 */
async function databaseTransactions(url: string): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql<{ n: string }[]>`
      select xact_commit + xact_rollback as n from pg_stat_database where datname = current_database()`;
    return Number(row!.n);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

async function verifyOnce(url: string, key: string): Promise<unknown> {
  const res = await fetch(`${url}/v1/keys/verify`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ key }),
  });
  return res.json();
}

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function combine(rounds: Measured[]): Measured {
  const total = rounds.reduce((sum, m) => sum + m.total, 0);
  return {
    label: rounds[0]!.label,
    cpuUs: rounds.reduce((sum, m) => sum + m.cpuUs * m.total, 0) / total,
    rps: total / rounds.reduce((sum, m) => sum + m.seconds, 0),
    p50: median(rounds.map((m) => m.p50)),
    p99: median(rounds.map((m) => m.p99)),
    non2xx: rounds.reduce((sum, m) => sum + m.non2xx, 0),
    errors: rounds.reduce((sum, m) => sum + m.errors, 0),
    total,
    seconds: rounds.reduce((sum, m) => sum + m.seconds, 0),
  };
}

function print(m: Measured) {
  console.log(
    `${m.label.padEnd(34)} ${m.rps.toFixed(0).padStart(7)} req/s   p50 ${m.p50.toFixed(2).padStart(5)} ms   p99 ${m.p99.toFixed(2).padStart(5)} ms   ${m.cpuUs.toFixed(1).padStart(5)} µs CPU/req   (${m.total} requests, ${m.non2xx} non-2xx, ${m.errors} errors)`,
  );
}

function malformed(): string {
  // Right shape, wrong checksum: the most expensive kind of MALFORMED to reject.
  const { token } = generateToken('rk_live');
  const last = token.at(-1) === 'A' ? 'B' : 'A';
  return token.slice(0, -1) + last;
}

/** Sends SIGUSR2 to the switchable server and waits until it says counting is `on`. */
function switchCounting(server: { child: ChildProcess }, on: boolean): Promise<void> {
  const want = `counting ${on ? 'on' : 'off'}`;
  return new Promise((resolve) => {
    const onData = (chunk: Buffer) => {
      if (!chunk.toString().includes(want)) return;
      server.child.stdout!.off('data', onData);
      resolve();
    };
    server.child.stdout!.on('data', onData);
    server.child.kill('SIGUSR2');
  });
}

let countingShare = Number.NaN;
let countingGoal = 'goal: counting ≤ 3 % of hot throughput: not measured';

/**
 * A verify cache as the app builds it, over a fake lookup that knows the `hot` tokens only (each a key's
 * current secret), with the hot tokens already cached; `options` add what a run needs (a usage counter,
 * the live-secret filter, the canaries). Unknown keys stay cached as long as hot ones (not 2 s), so a
 * cached unknown key stays one through every run.
 */
async function hotCache(
  /** Made up here: the fake lookup issues them. */
  hot: string[],
  options: Partial<VerifyCacheOptions> = {},
) {
  const rows = new Map(
    hot.map((token) => [
      hashToken(token),
      {
        secretId: randomUUID(),
        keyId: randomUUID(),
        name: 'bench',
        products: ['payments'],
        expiresAt: null,
        deletedAt: null,
      },
    ]),
  );
  const cache = createVerifyCache({
    lookupMany: async (hashes) =>
      hashes.flatMap((hash) => {
        const row = rows.get(hash);
        return row ? [{ hash, ...row }] : [];
      }),
    clock: systemClock,
    maxEntries: 1_000,
    ttlMs: 600_000,
    negativeTtlMs: 600_000,
    ...options,
  });
  for (const token of hot) await cache.verify(token);
  return cache;
}

/** The live-secret filter holding the `hot` tokens' secrets among `secretCount` others, built and trusted. */
async function liveSecretFilter(hot: string[], secretCount: number) {
  const liveSecrets = createLiveSecretFilter({
    readLivePrefixes: async () =>
      Buffer.concat([
        ...hot.map((token) => Buffer.from(hashToken(token).slice(0, 16), 'hex')),
        randomBytes(8 * secretCount),
      ]),
    clock: systemClock,
  });
  liveSecrets.channelUp();
  await liveSecrets.settled();
  return liveSecrets;
}

/**
 * CPU time per call (ns) of each side's calls in this process: a side's function sets it up (a switch
 * flipped) and returns what one call does; each side is run once to warm up, then `rounds` times
 * `calls` calls, the order rotating every round so no side always goes first (with two sides: on/off,
 * off/on, …). `afterRound` runs between rounds, untimed. Per side, one figure per round.
 */
async function alternateInProcess<Side extends string>(
  sides: Record<Side, () => (i: number) => unknown>,
  { calls, rounds, afterRound }: { calls: number; rounds: number; afterRound?: () => unknown },
): Promise<Record<Side, number[]>> {
  const names = Object.keys(sides) as Side[];
  const run = (side: Side) => {
    const call = sides[side]();
    const started = process.cpuUsage();
    for (let i = 0; i < calls; i++) call(i);
    const used = process.cpuUsage(started);
    return ((used.user + used.system) * 1000) / calls;
  };
  for (const side of names) run(side);
  await afterRound?.();
  const ns = Object.fromEntries(names.map((side) => [side, [] as number[]])) as Record<Side, number[]>;
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < names.length; i++) {
      const side = names[(round + i) % names.length]!;
      ns[side].push(run(side));
    }
    await afterRound?.();
  }
  return ns;
}

/**
 * (h) and (m): `hit` with a switch of `usage` on (`set(true)`) and off, in 10 alternating pairs of
 * 300 000 calls, the counter drained between them: the medians, and per pair what "on" cost more.
 */
async function switchedInProcess(
  usage: UsageCounter,
  set: (on: boolean) => void,
  hit: (i: number) => unknown,
): Promise<{ onNs: number; offNs: number; extraNs: number[] }> {
  const side = (on: boolean) => () => {
    set(on);
    return hit;
  };
  const { on, off } = await alternateInProcess(
    { on: side(true), off: side(false) },
    { calls: 300_000, rounds: 10, afterRound: () => usage.drain() },
  );
  return { onNs: median(on), offNs: median(off), extraNs: on.map((ns, i) => ns - off[i]!) };
}

/**
 * (h) The verify path's own CPU with and without counting, in this process, without HTTP: verifyNow
 * on cached hot keys (the exact code a hit runs), alternating on/off in pairs of runs. Nearly free of
 * outside noise (CPU time of one thread, no sockets), it says what counting adds per request; (b)'s
 * server CPU per request says what that is a share of.
 */
async function measureCountingInProcess(): Promise<{ onNs: number; offNs: number; extraNs: number[] }> {
  class Switchable extends UsageCounter {
    counting = true;
    override record(slot: UseSlot, nowMs: number, expired: boolean): void {
      if (this.counting) super.record(slot, nowMs, expired);
    }
  }
  const usage = new Switchable();
  const hot = madeUpKeys(HOT_KEYS);
  const cache = await hotCache(hot, { usage });
  return switchedInProcess(
    usage,
    (on) => {
      usage.counting = on;
    },
    (i) => cache.verifyNow(hot[i % HOT_KEYS]),
  );
}

/**
 * (k) The verify path's own CPU per request in this process, without HTTP: verifyNow on a cached hot
 * key (b), on a made-up key the live-secret filter rules out (c) and on the 90/5/5 mix (d), in
 * alternating runs over the same cache and filter (sized for the benchmark's secrets), usage counting
 * on as in the app. What (c) and (d) cost beyond (b) on the server is this difference; everything else
 * a request costs (HTTP, the bearer check, the JSON) is the same for all three.
 */
async function measureFilterInProcess(secretCount: number) {
  const hot = madeUpKeys(HOT_KEYS);
  const liveSecrets = await liveSecretFilter(hot, secretCount);
  const cache = await hotCache(hot, { usage: new UsageCounter(), liveSecrets });
  const CALLS = 200_000;
  const madeUp = madeUpKeys(CALLS);
  const broken = Array.from({ length: CALLS / 20 }, malformed);
  const calls = (key: (i: number) => string | undefined) => () => (i: number) => cache.verifyNow(key(i));
  const ns = await alternateInProcess(
    {
      hot: calls((i) => hot[i % HOT_KEYS]),
      madeUp: calls((i) => madeUp[i]),
      mix: calls((i) =>
        i % 20 === 0 ? madeUp[i] : i % 20 === 10 ? broken[i / 20 - 0.5] : hot[i % HOT_KEYS],
      ),
    },
    { calls: CALLS, rounds: 9 },
  );
  liveSecrets.stop();
  return { hotNs: median(ns.hot), madeUpNs: median(ns.madeUp), mixNs: median(ns.mix) };
}

/**
 * One process whose counting (or client attribution) is switched on and off between rounds, in pairs of
 * short rounds (on/off, off/on, …), with a bare load generator (no per-response listener). Per pair,
 * throughput and server CPU per request are compared; a burst of outside load hits both rounds of a
 * pair about equally, so the median of the per-pair ratios is the figure, and their range says how much
 * noise there was. Used by (g) counting and (l) client attribution. Returns the figures, in words.
 */
async function measureSwitch(
  label: string,
  server: { url: string; child: ChildProcess },
  requests: Lists,
  headers: Record<string, string>,
  pairs: number,
): Promise<string> {
  await switchCounting(server, true);
  await load('warm-up', server, requests, 2, headers, false);
  let on = true;
  const rpsRatios: number[] = [];
  const cpuRatios: number[] = [];
  const rounds: Measured[] = [];
  for (let pair = 0; pair < pairs; pair++) {
    const measured: Record<'on' | 'off', Measured | undefined> = { on: undefined, off: undefined };
    for (const want of pair % 2 === 0 ? [true, false] : [false, true]) {
      if (on !== want) await switchCounting(server, want);
      on = want;
      measured[want ? 'on' : 'off'] = await load(
        `${label} ${want ? 'on' : 'off'}`,
        server,
        requests,
        COUNTING_SECONDS,
        headers,
        false,
      );
    }
    rpsRatios.push(measured.on!.rps / measured.off!.rps);
    cpuRatios.push(measured.on!.cpuUs / measured.off!.cpuUs);
    rounds.push(measured.on!, measured.off!);
  }
  if (on) await switchCounting(server, false);
  const totalOn = combine(rounds.filter((m) => m.label.endsWith('on')));
  const totalOff = combine(rounds.filter((m) => m.label.endsWith('off')));
  print(totalOn);
  print(totalOff);
  const range = (values: number[]) => `${Math.min(...values).toFixed(3)}–${Math.max(...values).toFixed(3)}`;
  console.log(
    `    ${label} on/off per pair: throughput ${rpsRatios.map((r) => r.toFixed(3)).join(', ')}; ` +
      `server CPU per request ${cpuRatios.map((r) => r.toFixed(3)).join(', ')}`,
  );
  return (
    `median of ${pairs} pairs ${median(rpsRatios).toFixed(3)}× throughput (range ${range(rpsRatios)}), ` +
    `${median(cpuRatios).toFixed(3)}× server CPU per request (range ${range(cpuRatios)}); totals ` +
    `${totalOn.rps.toFixed(0)} vs ${totalOff.rps.toFixed(0)} req/s, ${totalOn.cpuUs.toFixed(1)} vs ` +
    `${totalOff.cpuUs.toFixed(1)} µs server CPU per request`
  );
}

/** (g) Usage counting on vs off, on one process (bench/rekey-counting-switch.ts). */
async function measureCounting(server: { url: string; child: ChildProcess }, requests: Lists) {
  const figures = await measureSwitch('(g) counting', server, requests, VERIFY_HEADERS, COUNTING_PAIRS);
  countingGoal = `goal: counting costs ≤ 3 % of hot throughput: (g) on/off in one process, ${figures}`;
}

/**
 * (l) Client attribution on vs off on one process (bench/rekey-counting-switch.ts with
 * BENCH_SWITCH=clients: counting on either way), the hot keys each presented by CLIENTS_PER_KEY
 * clients: verify with the body's `client`, authorize with X-Forwarded-For and User-Agent; then (m),
 * attribution's own CPU on verifyNow in this process. Returns the goal lines; `hotCpuUs` is (b)'s server
 * CPU per request, what (m) is a share of.
 */
async function measureClients(
  server: { url: string; child: ChildProcess },
  hot: string[],
  hotCpuUs: number,
): Promise<string[]> {
  const onVerify = await measureSwitch(
    '(l) clients, verify',
    server,
    verifyLists(hotKeyOfClient(hot), hotClient),
    VERIFY_HEADERS,
    CLIENT_PAIRS,
  );
  const onAuthorize = await measureSwitch(
    '(l) clients, authorize',
    server,
    authorizeLists(hotKeyOfClient(hot), hotClient),
    AUTHORIZE_HEADERS,
    CLIENT_PAIRS,
  );
  const inProcess = await measureClientsInProcess();
  const extraNs = median(inProcess.extraNs);
  console.log(
    `(m) verifyNow on a hit with its client, in this process: ${inProcess.onNs.toFixed(0)} ns attributed, ` +
      `${inProcess.offNs.toFixed(0)} ns not (median extra ${extraNs.toFixed(0)} ns per request, ` +
      `pairs ${Math.min(...inProcess.extraNs).toFixed(0)}…${Math.max(...inProcess.extraNs).toFixed(0)})`,
  );
  return [
    `goal: client attribution ≤ 3 % of hot throughput: (l) on/off in one process, verify with "client": ${onVerify}`,
    `    (l) authorize with X-Forwarded-For and User-Agent: ${onAuthorize}`,
    `    (m) attribution's own CPU: ${extraNs.toFixed(0)} ns per request = ${((100 * extraNs) / 1000 / hotCpuUs).toFixed(2)} % of (b)'s ${hotCpuUs.toFixed(1)} µs server CPU per request`,
  ];
}

/**
 * (m) What attribution adds to verifyNow on a hit, in this process (no HTTP): the hot keys with their
 * clients, as (l) sends them, attribution on and off in alternating pairs of runs, as (h) does for
 * counting. The client changes every call (the tally's slowest path).
 */
async function measureClientsInProcess(): Promise<{ onNs: number; offNs: number; extraNs: number[] }> {
  class Switchable extends UsageCounter {
    attributing = true;
    protected override attribute(
      slot: UseSlot,
      inHour: number,
      ip: string | null,
      agent: string | null,
    ): void {
      if (this.attributing) super.attribute(slot, inHour, ip, agent);
    }
  }
  const usage = new Switchable();
  const hot = madeUpKeys(HOT_KEYS);
  const cache = await hotCache(hot, { usage });
  const clients = Array.from({ length: HOT_KEYS * CLIENTS_PER_KEY }, (_, n) => clientOf(n));
  return switchedInProcess(
    usage,
    (on) => {
      usage.attributing = on;
    },
    (i) => {
      const n = i % clients.length;
      const client = clients[n]!;
      return cache.verifyNow(hot[Math.floor(n / CLIENTS_PER_KEY)], client.ip, client.userAgent);
    },
  );
}

/** Creates `count` canary keys as the CLI does (four at a time) and returns their key strings. */
async function createCanaries(db: Db, count: number): Promise<string[]> {
  const deps = { db, clock: systemClock, changes: new KeyChanges(), keyPrefix: 'rk_live', admins: [] };
  const run = randomBytes(3).toString('hex');
  const tokens: string[] = [];
  for (let n = 0; n < count; n += 4) {
    const created = await Promise.all(
      Array.from({ length: Math.min(4, count - n) }, (_, i) =>
        createKey(deps, {
          name: `bench-canary-${run}-${n + i}`,
          alertChannel: 'CBENCH',
          canary: true,
          actor: { id: 'cli:bench', source: 'cli' },
        }),
      ),
    );
    tokens.push(...created.map((c) => c.token));
  }
  return tokens;
}

/**
 * (n) A canary must not be told from an unknown key by its answer or its timing. rekey answers it as a
 * key the live-secret filter rules out, from the same allowance of lookups (docs/architecture.md, Canary
 * keys), so a canary tried once takes a made-up key's path, and one tried again and again an unknown
 * key's: a lookup now and then (the allowance), cached as NOT_FOUND in between. Over HTTP on the real
 * rekey, four runs in alternating rounds, in two pairs:
 * - BENCH_CANARIES canaries, each connection cycling through them (too many for the allowance to cache
 *   more than a few: the filter's path) vs made-up keys, new on every request (the filter's path);
 * - one canary again and again vs one unknown key again and again (the cached NOT_FOUND).
 * The tries are recorded as in production (a queue, written after the answers): their writes are part
 * of what a canary costs. Then the same pairs on verifyNow alone in this process (tries queued but
 * written nowhere), where a canary that is never looked up stays on the filter's path.
 */
async function measureCanaries(
  rekey: { url: string; child: ChildProcess },
  databaseUrl: string,
  secretCount: number,
) {
  const database = await openPostgres(databaseUrl, { max: 4 });
  try {
    const created = performance.now();
    const canaries = await createCanaries(database.db, CANARY_COUNT);
    for (let waited = 0; (await metric(rekey.url, 'rekey_canary_keys')) < CANARY_COUNT; waited += 100) {
      if (waited > 30_000) throw new Error(`rekey did not learn of the ${CANARY_COUNT} canaries within 30 s`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    console.log(
      `(n) ${CANARY_COUNT} canaries created and known to rekey in ${((performance.now() - created) / 1000).toFixed(1)} s`,
    );
    const [oneCanary] = canaries as [string];
    const unknown = generateToken('rk_live').token;
    for (const key of [oneCanary, unknown]) {
      const answer = (await verifyOnce(rekey.url, key)) as { valid?: boolean; code?: string };
      if (answer.valid !== false || answer.code !== 'NOT_FOUND') {
        throw new Error(`a canary or unknown key was not answered NOT_FOUND: ${JSON.stringify(answer)}`);
      }
    }
    const triesBefore = await metric(rekey.url, 'rekey_canary_tries_total');

    const sides = {
      canaries: {
        label: `(n) canaries (${CANARY_COUNT} cycled)`,
        lists: () => verifyLists(hotKey(canaries)),
      },
      madeUp: {
        label: '(n) made-up keys',
        lists: () => {
          const made = madeUpKeys(CONNECTIONS * LIST_LENGTH);
          return verifyLists((connection, i) => made[connection * LIST_LENGTH + i]!);
        },
      },
      canary: { label: '(n) one canary again', lists: () => verifyLists(() => oneCanary) },
      unknown: { label: '(n) one unknown key again', lists: () => verifyLists(() => unknown) },
    };
    type Side = keyof typeof sides;
    const order = Object.keys(sides) as Side[];
    const rounds = Object.fromEntries(order.map((side) => [side, [] as Measured[]])) as Record<
      Side,
      Measured[]
    >;
    /** Per side: requests rekey answered from its filter alone, and those it looked up. */
    const paths = Object.fromEntries(order.map((side) => [side, { filter: 0, lookups: 0 }])) as Record<
      Side,
      { filter: number; lookups: number }
    >;
    const staticLists = {
      canaries: sides.canaries.lists(),
      canary: sides.canary.lists(),
      unknown: sides.unknown.lists(),
    };
    const seconds = DURATION / ROUNDS;
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < order.length; i++) {
        const side = order[(round + i) % order.length]!;
        const lists = side === 'madeUp' ? sides.madeUp.lists() : staticLists[side];
        const answers = await metric(rekey.url, 'rekey_verify_filter_answers_total');
        const misses = await metric(rekey.url, 'rekey_verify_cache_misses_total');
        rounds[side].push(await load(sides[side].label, rekey, lists, seconds, VERIFY_HEADERS, false));
        paths[side].filter += (await metric(rekey.url, 'rekey_verify_filter_answers_total')) - answers;
        paths[side].lookups += (await metric(rekey.url, 'rekey_verify_cache_misses_total')) - misses;
      }
    }
    const total = Object.fromEntries(order.map((side) => [side, combine(rounds[side])])) as Record<
      Side,
      Measured
    >;
    for (const side of order) print(total[side]);
    const tries = (await metric(rekey.url, 'rekey_canary_tries_total')) - triesBefore;
    const share = (side: Side) => ((100 * paths[side].filter) / total[side].total).toFixed(1);
    console.log(
      `    answered by the filter alone / looked up: canaries ${share('canaries')} % / ${paths.canaries.lookups}, ` +
        `made-up ${share('madeUp')} % / ${paths.madeUp.lookups}, one canary ${share('canary')} % / ${paths.canary.lookups}, ` +
        `one unknown ${share('unknown')} % / ${paths.unknown.lookups}; ${tries} canary tries counted`,
    );
    const perRound = (x: Side, y: Side) =>
      rounds[x].map((m, n) => (m.rps / rounds[y][n]!.rps).toFixed(2)).join(', ');
    console.log(
      `    per round: canaries / made-up ${perRound('canaries', 'madeUp')}; one canary / one unknown ${perRound('canary', 'unknown')}`,
    );
    const versus = (x: Measured, y: Measured) =>
      `${(x.rps / y.rps).toFixed(3)}× throughput, ${x.cpuUs.toFixed(1)} vs ${y.cpuUs.toFixed(1)} µs server CPU per request ` +
      `(${(x.cpuUs / y.cpuUs).toFixed(3)}×), p50 ${x.p50.toFixed(0)} vs ${y.p50.toFixed(0)} ms, p99 ${x.p99.toFixed(0)} vs ${y.p99.toFixed(0)} ms`;
    console.log(
      `(n) over HTTP: canaries vs made-up keys (the filter's path): ${versus(total.canaries, total.madeUp)}`,
    );
    console.log(
      `    (n) one canary again vs one unknown key again (cached NOT_FOUND): ${versus(total.canary, total.unknown)}`,
    );

    const inProcess = await measureCanariesInProcess(database.db, canaries, secretCount);
    const ratio = (x: number, y: number) => `${x.toFixed(0)} vs ${y.toFixed(0)} ns (${(x / y).toFixed(2)}×)`;
    console.log(
      `(n) verifyNow in this process: canaries vs made-up keys (the filter's path) ${ratio(inProcess.canaries, inProcess.madeUp)}; ` +
        `a canary vs an unknown key, both cached NOT_FOUND, ${ratio(inProcess.canary, inProcess.unknown)} (medians of 9 alternating runs)`,
    );
  } finally {
    await database.close();
  }
}

/**
 * (n) in this process: verifyNow over a cache built as the app builds it (the filter sized for the
 * benchmark's secrets, counting on), with this replica's own canary watch loaded from the database and
 * its tries queued but written nowhere (flushed between rounds, untimed). Canaries never looked up and
 * new made-up keys (the filter's path: its allowance is spent at once), then one canary and one unknown
 * key each looked up once (cached NOT_FOUND).
 */
async function measureCanariesInProcess(db: Db, canaries: string[], secretCount: number) {
  const hot = madeUpKeys(HOT_KEYS);
  const liveSecrets = await liveSecretFilter(hot, secretCount);
  const logger = createLogger('silent');
  const nowhere = { transaction: async () => 0 } as unknown as Db;
  const watch = createCanaryWatch({
    db,
    clock: systemClock,
    logger,
    recorder: createCanaryTryRecorder({ db: nowhere, logger }),
  });
  await watch.reload();
  if (watch.size < canaries.length) throw new Error(`the canary watch loaded ${watch.size} canaries`);
  const cache = await hotCache(hot, { usage: new UsageCounter(), liveSecrets, canaries: watch });
  const [cachedCanary, ...neverLookedUp] = canaries as [string, ...string[]];
  const cachedUnknown = generateToken('rk_live').token;
  // The filter's allowance is whole here: both are looked up (nothing found) and cached.
  for (const key of [cachedCanary, cachedUnknown]) await cache.verify(key);
  if (cache.size !== HOT_KEYS + 2 || cache.verifyNow(cachedCanary) !== NOT_FOUND) {
    throw new Error('the canary and the unknown key were not cached as NOT_FOUND');
  }
  const CALLS = 200_000;
  const madeUp = madeUpKeys(CALLS);
  const calls = (key: (i: number) => string | undefined) => () => (i: number) => cache.verifyNow(key(i));
  const ns = await alternateInProcess(
    {
      canaries: calls((i) => neverLookedUp[i % neverLookedUp.length]),
      madeUp: calls((i) => madeUp[i]),
      canary: calls(() => cachedCanary),
      unknown: calls(() => cachedUnknown),
    },
    { calls: CALLS, rounds: 9, afterRound: () => watch.tries.flush() },
  );
  liveSecrets.stop();
  await watch.stop();
  return {
    canaries: median(ns.canaries),
    madeUp: median(ns.madeUp),
    canary: median(ns.canary),
    unknown: median(ns.unknown),
  };
}

/** BENCH_ONLY=filter: (b), (c) and (d) and their ratios per round, then (k). */
async function reportFilterRounds(
  rounds: Record<'b' | 'c' | 'd', Measured[]>,
  cCounts: { filterAnswers: number; lookups: number },
  secretCount: number,
) {
  const [b, c, d] = [combine(rounds.b), combine(rounds.c), combine(rounds.d)];
  for (const m of [b, c, d]) print(m);
  const perRound = (x: Measured[]) => x.map((m, i) => (m.rps / rounds.b[i]!.rps).toFixed(2)).join(', ');
  console.log(
    `    per round: (c)/(b) ${perRound(rounds.c)}; (d)/(b) ${perRound(rounds.d)}; server CPU µs/request ` +
      `(b) ${rounds.b.map((m) => m.cpuUs.toFixed(1)).join(', ')}, (c) ${rounds.c.map((m) => m.cpuUs.toFixed(1)).join(', ')}, ` +
      `(d) ${rounds.d.map((m) => m.cpuUs.toFixed(1)).join(', ')}`,
  );
  const k = await measureFilterInProcess(secretCount);
  console.log(
    `goals: (c) ${(c.rps / b.rps).toFixed(2)}× (b) (≥ 0.80), ${((100 * (c.total - cCounts.lookups)) / c.total).toFixed(2)} % with no database statement; ` +
      `(d) ${(d.rps / b.rps).toFixed(2)}× (b) (≥ 0.90); server CPU per request (b) ${b.cpuUs.toFixed(1)}, (c) ${c.cpuUs.toFixed(1)}, (d) ${d.cpuUs.toFixed(1)} µs; ` +
      `(k) verifyNow ${k.hotNs.toFixed(0)} / ${k.madeUpNs.toFixed(0)} / ${k.mixNs.toFixed(0)} ns`,
  );
}

async function main() {
  const adminUrl = process.env.BENCH_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  let databaseUrl = process.env.DATABASE_URL;
  let dropScratch: (() => Promise<void>) | undefined;
  if (!databaseUrl) {
    const name = `rekey_bench_${Date.now().toString(36)}`;
    const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database "${name}"`);
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    databaseUrl = url.toString();
    dropScratch = async () => {
      await admin.unsafe(`drop database if exists "${name}" with (force)`);
      await admin.end({ timeout: 5 });
    };
  }
  const children: ChildProcess[] = [];
  try {
    const database = await openPostgres(databaseUrl, { max: 4 });
    const seedStart = performance.now();
    const seeded = await seedKeys(database.db, {
      keyCount: KEY_COUNT,
      graceSecretsPerKey: GRACE_SECRETS_PER_KEY,
      now: new Date(),
    });
    await database.sql!`analyze`;
    await database.close();
    const hot = seeded.current.slice(0, HOT_KEYS);
    const cold = [...seeded.current.slice(HOT_KEYS), ...seeded.inGrace];
    const secretCount = seeded.current.length + seeded.inGrace.length;
    console.log(
      `seeded ${KEY_COUNT} keys (${secretCount} secrets) in ${((performance.now() - seedStart) / 1000).toFixed(1)} s; ` +
        `${CONNECTIONS} connections, ${DURATION} s per measurement, loopback, autocannon in the parent process`,
    );

    const baseline = await startChild('./baseline-server.ts', {});
    children.push(baseline.child);
    const rekey = await startChild('../src/main.ts', {
      DATABASE_URL: databaseUrl,
      PORT: '0',
      REKEY_API_TOKENS: API_TOKEN,
      // Startup lines only: nothing on the verify path logs per request.
      LOG_LEVEL: 'info',
    });
    children.push(rekey.child);
    // The same server with a usage counter that can be switched off (it starts off): what counting costs.
    const uncounted = await startChild('./rekey-counting-switch.ts', {
      DATABASE_URL: databaseUrl,
      PORT: '0',
      REKEY_API_TOKENS: API_TOKEN,
      LOG_LEVEL: 'info',
    });
    children.push(uncounted.child);
    // The same again with client attribution switchable instead (counting on either way): for (l).
    const unattributed =
      ONLY === undefined
        ? await startChild('./rekey-counting-switch.ts', {
            DATABASE_URL: databaseUrl,
            PORT: '0',
            REKEY_API_TOKENS: API_TOKEN,
            LOG_LEVEL: 'info',
            BENCH_SWITCH: 'clients',
          })
        : undefined;
    if (unattributed) children.push(unattributed.child);

    // Sanity: the rekey answers are real verdicts, not errors.
    const sample = (await verifyOnce(rekey.url, hot[0]!)) as { valid?: boolean };
    if (sample.valid !== true) throw new Error(`hot key did not verify: ${JSON.stringify(sample)}`);

    const hotLists = verifyLists(hotKey(hot));
    const hotAuthorize = authorizeLists(hotKey(hot));
    // Warm-up (JIT, connection pools, the hot keys' cache entries), identical for both servers.
    await load('warm-up', baseline, hotLists, 3);
    await load('warm-up', rekey, hotLists, 3);
    await load('warm-up', rekey, hotAuthorize, 3, AUTHORIZE_HEADERS);
    await load(
      'warm-up',
      rekey,
      verifyLists(() => generateToken('rk_live').token),
      3,
    );
    await load('warm-up', uncounted, hotLists, 3);
    // The filter of live secrets answers made-up keys only once it is built and trusted.
    for (let i = 0; (await metric(rekey.url, 'rekey_verify_filter_trusted')) !== 1; i++) {
      if (i > 600) throw new Error('the filter of live secrets was never trusted');
      await new Promise((r) => setTimeout(r, 100));
    }
    if (ONLY === 'canary') return await measureCanaries(rekey, databaseUrl, secretCount);

    const rounds: Record<'a' | 'b' | 'c' | 'd' | 'e' | 'f', Measured[]> = {
      a: [],
      b: [],
      c: [],
      d: [],
      e: [],
      f: [],
    };
    const seconds = DURATION / ROUNDS;
    /** Of the (c) requests: those rekey answered from its filter alone, and those it looked up. */
    const cCounts = { filterAnswers: 0, lookups: 0 };
    const measure = {
      a: async () =>
        rounds.a.push(await load('(a) baseline node:http constant', baseline, hotLists, seconds)),
      b: async () => rounds.b.push(await load('(b) verify, hot keys', rekey, hotLists, seconds)),
      c: async () => {
        // Fresh keys every round, made before the counters are read.
        const made = madeUpKeys(CONNECTIONS * LIST_LENGTH);
        const lists = verifyLists((connection, i) => made[connection * LIST_LENGTH + i]!);
        const answers = await metric(rekey.url, 'rekey_verify_filter_answers_total');
        const misses = await metric(rekey.url, 'rekey_verify_cache_misses_total');
        rounds.c.push(await load('(c) verify, made-up keys', rekey, lists, seconds));
        cCounts.filterAnswers += (await metric(rekey.url, 'rekey_verify_filter_answers_total')) - answers;
        cCounts.lookups += (await metric(rekey.url, 'rekey_verify_cache_misses_total')) - misses;
      },
      d: async () =>
        rounds.d.push(await load('(d) 90% hot / 5% made-up / 5% MALF', rekey, mixLists(hot), seconds)),
      e: async () =>
        rounds.e.push(await load('(e) authorize, hot keys', rekey, hotAuthorize, seconds, AUTHORIZE_HEADERS)),
      f: async () =>
        rounds.f.push(await load('(f) verify, hot keys, uncounted', uncounted, hotLists, seconds)),
    };
    // Sanity: the authorize answers are grants, not refusals (autocannon counts them as non-2xx anyway).
    const granted = await fetch(`${rekey.url}/v1/keys/authorize`, {
      headers: { ...AUTHORIZE_HEADERS, 'x-api-key': hot[0]! },
    });
    if (granted.status !== 200) throw new Error(`hot key was not authorised: ${granted.status}`);
    const order = FILTER_ONLY ? [measure.b, measure.c, measure.d] : Object.values(measure);
    for (let round = 0; round < ROUNDS; round++) {
      // a b c d e f, b c d e f a, …: no side always runs first (or always right after the same other).
      for (let i = 0; i < order.length; i++) await order[(round + i) % order.length]!();
    }
    if (FILTER_ONLY) return reportFilterRounds(rounds, cCounts, secretCount);
    const [a, b, c, d, e, f] = (['a', 'b', 'c', 'd', 'e', 'f'] as const).map((side) => combine(rounds[side]));
    const perRound = (x: Measured[], y: Measured[]) =>
      x.map((m, i) => (m.rps / y[i]!.rps).toFixed(2)).join(', ');
    const rpsOf = (x: Measured[]) => x.map((m) => m.rps.toFixed(0)).join(', ');
    const cpuOf = (x: Measured[]) => x.map((m) => m.cpuUs.toFixed(1)).join(', ');
    console.log(
      `    rounds (a): ${rpsOf(rounds.a)} req/s; (b): ${rpsOf(rounds.b)} req/s; ratio per round: ${perRound(rounds.b, rounds.a)}; ` +
        `server CPU µs/request (a): ${cpuOf(rounds.a)}, (b): ${cpuOf(rounds.b)}; ` +
        `p99 ms (a): ${rounds.a.map((m) => m.p99.toFixed(2)).join(', ')}, (b): ${rounds.b.map((m) => m.p99.toFixed(2)).join(', ')}`,
    );
    console.log(
      `    (c) rounds: ${rpsOf(rounds.c)} req/s, ratio to (b) per round: ${perRound(rounds.c, rounds.b)}, server CPU µs/request ${cpuOf(rounds.c)}; ` +
        `(d) rounds: ${rpsOf(rounds.d)} req/s, ratio to (b) per round: ${perRound(rounds.d, rounds.b)}, server CPU µs/request ${cpuOf(rounds.d)}`,
    );
    console.log(
      `    (e) rounds: ${rpsOf(rounds.e)} req/s; ratio to (b) per round: ${perRound(rounds.e, rounds.b)}; ` +
        `server CPU µs/request (e): ${cpuOf(rounds.e)}; p99 ms (e): ${rounds.e.map((m) => m.p99.toFixed(2)).join(', ')}`,
    );
    for (const m of [a, b, c, d, e, f]) print(m!);
    console.log(
      `    (c): ${cCounts.filterAnswers} of ${c!.total} answered by the filter alone, ${cCounts.lookups} looked up ` +
        `(${((100 * (c!.total - cCounts.lookups)) / c!.total).toFixed(2)} % with no database statement)`,
    );
    console.log(
      `    (b) counted / (f) uncounted per round: ${perRound(rounds.b, rounds.f)}; server CPU µs/request (f): ${cpuOf(rounds.f)}`,
    );

    await measureCounting(uncounted, hotLists);
    const inProcess = await measureCountingInProcess();
    console.log(
      `(h) verifyNow on a hit, in this process: ${inProcess.onNs.toFixed(0)} ns counted, ${inProcess.offNs.toFixed(0)} ns not ` +
        `(median extra ${median(inProcess.extraNs).toFixed(0)} ns per request, pairs ${Math.min(...inProcess.extraNs).toFixed(0)}…${Math.max(...inProcess.extraNs).toFixed(0)})`,
    );
    countingShare = median(inProcess.extraNs) / 1000;
    const filterPath = await measureFilterInProcess(secretCount);
    console.log(
      `(k) verifyNow in this process: ${filterPath.hotNs.toFixed(0)} ns on a hot key, ${filterPath.madeUpNs.toFixed(0)} ns on a made-up key, ` +
        `${filterPath.mixNs.toFixed(0)} ns on the 90/5/5 mix (medians of 9 alternating runs)`,
    );
    const clientsGoal = await measureClients(unattributed!, hot, b!.cpuUs);

    // (c) once more on its own, for the database's own count of what it ran meanwhile (all of rekey's
    // statements: its health probe and channel pings each second included).
    const made = madeUpKeys(CONNECTIONS * LIST_LENGTH);
    const transactionsBefore = await databaseTransactions(databaseUrl);
    const alone = await load(
      '(c) made-up keys, counted',
      rekey,
      verifyLists((connection, i) => made[connection * LIST_LENGTH + i]!),
      seconds,
    );
    const transactions = (await databaseTransactions(databaseUrl)) - transactionsBefore;
    console.log(
      `    (c) alone: ${alone.total} requests in ${alone.seconds} s, ${transactions} database transactions meanwhile ` +
        `(${((100 * transactions) / alone.total).toFixed(3)} % of the requests)`,
    );

    // Keys that exist but are not cached yet: every one is a lookup (the misses of a turn share one).
    const j = await load(
      '(j) verify, issued keys not cached',
      rekey,
      verifyLists((connection, n) => cold[(connection * LIST_LENGTH + n) % cold.length]!),
    );
    const jMisses = await metric(rekey.url, 'rekey_verify_cache_misses_total');
    print(j);
    console.log(`    cache misses so far: ${jMisses} (pool of ${cold.length} issued keys never asked for)`);

    await measureCanaries(rekey, databaseUrl, secretCount);

    const rss = await metric(rekey.url, 'process_resident_memory_bytes');
    const entries = await metric(rekey.url, 'rekey_verify_cache_entries');
    console.log(
      `rekey RSS after the runs: ${(rss / 1_048_576).toFixed(0)} MB with ${entries} cached entries`,
    );
    console.log(
      `goals: (b) throughput ${(b!.rps / a!.rps).toFixed(2)}× baseline (≥ 0.80), p99 ${b!.p99.toFixed(2)} ms vs ${a!.p99.toFixed(2)} ms baseline ` +
        `(${(b!.p99 / a!.p99).toFixed(2)}×, ≤ 1.5×)`,
    );
    console.log(
      `goals: (c) made-up keys ${(c!.rps / b!.rps).toFixed(2)}× (b) (≥ 0.80), ${c!.cpuUs.toFixed(1)} vs ${b!.cpuUs.toFixed(1)} µs server CPU per request, ` +
        `${((100 * (c!.total - cCounts.lookups)) / c!.total).toFixed(2)} % with no database statement (≥ 99 %); ` +
        `(d) mix ${(d!.rps / b!.rps).toFixed(2)}× (b) (≥ 0.90), ${d!.cpuUs.toFixed(1)} µs server CPU per request`,
    );
    // The same ratios from the server's own work: (b)'s CPU per request with (k)'s difference added.
    const implied = (ns: number) => b!.cpuUs / (b!.cpuUs + (ns - filterPath.hotNs) / 1000);
    console.log(
      `    (k) implied by the verify path's own CPU: (c) ${implied(filterPath.madeUpNs).toFixed(3)}× (b), (d) ${implied(filterPath.mixNs).toFixed(3)}× (b) ` +
        `(${((filterPath.madeUpNs - filterPath.hotNs) / 1000).toFixed(2)} and ${((filterPath.mixNs - filterPath.hotNs) / 1000).toFixed(2)} µs per request beyond (b)'s ${b!.cpuUs.toFixed(1)})`,
    );
    console.log(
      `goal: (e) authorize within 5 % of (b) verify: ${(e!.rps / b!.rps).toFixed(3)}× throughput, ` +
        `${(e!.cpuUs / b!.cpuUs).toFixed(3)}× server CPU per request, p99 ${e!.p99.toFixed(2)} vs ${b!.p99.toFixed(2)} ms`,
    );
    console.log(
      `across processes: (b) counted ${(b!.rps / f!.rps).toFixed(3)}× (f) uncounted ` +
        `(median round ${median(rounds.b.map((m, n) => m.rps / rounds.f[n]!.rps)).toFixed(3)}×), ` +
        `${(b!.cpuUs / f!.cpuUs).toFixed(3)}× server CPU per request (two processes: see (g) for counting's cost)`,
    );
    console.log(countingGoal);
    for (const line of clientsGoal) console.log(line);
    console.log(
      `    (h) counting's own CPU: ${(countingShare * 1000).toFixed(0)} ns per request = ${((100 * countingShare) / b!.cpuUs).toFixed(2)} % of (b)'s ${b!.cpuUs.toFixed(1)} µs server CPU per request`,
    );
    console.log(`verify/baseline throughput ratio: ${(b!.rps / a!.rps).toFixed(2)}`);
  } finally {
    await Promise.all(children.map(stopChild));
    await dropScratch?.();
  }
}

await main();
