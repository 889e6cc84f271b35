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
 * made-up, mix); (c) once more alone, with the database's own count of the transactions it ran
 * meanwhile; and (j) issued keys not cached yet (batched lookups).
 *
 *   DATABASE_URL  use this database (keys are added to it); otherwise a scratch database is created
 *                 on BENCH_ADMIN_URL (default postgres://postgres@127.0.0.1:5432/test) and dropped.
 *   BENCH_DURATION seconds per measurement (default 12), BENCH_CONNECTIONS (default 50),
 *   BENCH_ROUNDS (default 6): (a) to (f) alternate in this many rounds of DURATION/ROUNDS seconds (keep
 *                 it a whole number: autocannon runs whole seconds), a-b-c-d-e-f, b-c-d-e-f-a, …, so
 *                 none always goes first.
 *   BENCH_ONLY=filter: only (b), (c) and (d), alternating, and (k).
 *   BENCH_COUNTING_PAIRS (default 10) × 2 rounds of BENCH_COUNTING_SECONDS (default 2) for (g): on/off,
 *                 off/on, … (no side always first); per pair, the ratio of throughput and of server CPU
 *                 per request; their medians and ranges are the figures.
 *
 * Servers run as child processes; autocannon runs in this process, so load generation costs the same
 * for every run: each connection cycles through its own prebuilt list of requests (see `verifyLists`),
 * whatever the run sends. The machine has 2 cores: generator and server share them identically in each
 * run. Alternating the runs in short rounds keeps drift from other work on the machine from favouring
 * any side; their figures are totals over the rounds (p50/p99: the median round).
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
import { createLiveSecretFilter } from '../src/services/live-secret-filter.ts';
import { UsageCounter, type UseSlot } from '../src/services/usage-counter.ts';
import { createVerifyCache } from '../src/services/verify-cache.ts';
import { openPostgres } from '../src/store/open-postgres.ts';
import { seedKeys } from './seed.ts';

const DURATION = Number(process.env.BENCH_DURATION ?? 12);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const COUNTING_PAIRS = Number(process.env.BENCH_COUNTING_PAIRS ?? 10);
const COUNTING_SECONDS = Number(process.env.BENCH_COUNTING_SECONDS ?? 2);
/** BENCH_ONLY=filter: only (b), (c) and (d) in alternating rounds, and (k). */
const FILTER_ONLY = process.env.BENCH_ONLY === 'filter';
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

function verifyLists(keyFor: (connection: number, i: number) => string): Lists {
  return Array.from({ length: CONNECTIONS }, (_, connection) =>
    Array.from({ length: LIST_LENGTH }, (_, i) => ({
      method: 'POST' as const,
      path: '/v1/keys/verify',
      body: JSON.stringify({ key: keyFor(connection, i) }),
    })),
  );
}

/** What nginx auth_request sends: a GET with the client's key and the gateway's own token. */
function authorizeLists(keyFor: (connection: number, i: number) => string): Lists {
  return Array.from({ length: CONNECTIONS }, (_, connection) =>
    Array.from({ length: LIST_LENGTH }, (_, i) => ({
      method: 'GET' as const,
      path: '/v1/keys/authorize',
      headers: { 'x-api-key': keyFor(connection, i) },
    })),
  );
}

/** The hot keys, each connection starting at a different one. */
const hotKey = (hot: string[]) => (connection: number, i: number) => hot[(connection * 7 + i) % hot.length]!;

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
  const percentile = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? NaN;
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
  const tokens = Array.from({ length: HOT_KEYS }, () => generateToken('rk_live').token);
  const cache = createVerifyCache({
    lookupMany: async (hashes) =>
      hashes.map((hash) => ({
        hash,
        secretId: randomUUID(),
        keyId: randomUUID(),
        name: 'bench',
        products: ['payments'],
        expiresAt: null,
        deletedAt: null,
      })),
    clock: systemClock,
    usage,
    maxEntries: 1_000,
    ttlMs: 600_000,
  });
  for (const token of tokens) await cache.verify(token);
  const CALLS = 300_000;
  const run = (on: boolean) => {
    usage.counting = on;
    const started = process.cpuUsage();
    for (let i = 0; i < CALLS; i++) cache.verifyNow(tokens[i % HOT_KEYS]);
    const used = process.cpuUsage(started);
    return ((used.user + used.system) * 1000) / CALLS;
  };
  run(true);
  run(false); // warm both sides up
  const on: number[] = [];
  const off: number[] = [];
  for (let pair = 0; pair < 10; pair++) {
    if (pair % 2 === 0) {
      on.push(run(true));
      off.push(run(false));
    } else {
      off.push(run(false));
      on.push(run(true));
    }
    usage.drain();
  }
  return { onNs: median(on), offNs: median(off), extraNs: on.map((ns, i) => ns - off[i]!) };
}

/**
 * (k) The verify path's own CPU per request in this process, without HTTP: verifyNow on a cached hot
 * key (b), on a made-up key the live-secret filter rules out (c) and on the 90/5/5 mix (d), in
 * alternating runs over the same cache and filter (sized for the benchmark's secrets), usage counting
 * on as in the app. What (c) and (d) cost beyond (b) on the server is this difference; everything else
 * a request costs (HTTP, the bearer check, the JSON) is the same for all three.
 */
async function measureFilterInProcess(secretCount: number) {
  const hot = Array.from({ length: HOT_KEYS }, () => generateToken('rk_live').token);
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
  const cache = createVerifyCache({
    lookupMany: async (hashes) =>
      hashes.map((hash) => ({
        hash,
        secretId: randomUUID(),
        keyId: randomUUID(),
        name: 'bench',
        products: ['payments'],
        expiresAt: null,
        deletedAt: null,
      })),
    clock: systemClock,
    usage: new UsageCounter(),
    maxEntries: 1_000,
    ttlMs: 600_000,
    liveSecrets,
  });
  for (const token of hot) await cache.verify(token);
  const CALLS = 200_000;
  const madeUp = madeUpKeys(CALLS);
  const broken = Array.from({ length: CALLS / 20 }, malformed);
  const runs = {
    hot: (i: number) => hot[i % HOT_KEYS],
    madeUp: (i: number) => madeUp[i],
    mix: (i: number) => (i % 20 === 0 ? madeUp[i] : i % 20 === 10 ? broken[i / 20 - 0.5] : hot[i % HOT_KEYS]),
  };
  const run = (key: (i: number) => string | undefined) => {
    const started = process.cpuUsage();
    for (let i = 0; i < CALLS; i++) cache.verifyNow(key(i));
    const used = process.cpuUsage(started);
    return ((used.user + used.system) * 1000) / CALLS;
  };
  const order = ['hot', 'madeUp', 'mix'] as const;
  const ns: Record<(typeof order)[number], number[]> = { hot: [], madeUp: [], mix: [] };
  for (const which of order) run(runs[which]); // warm up
  for (let round = 0; round < 9; round++) {
    for (let i = 0; i < order.length; i++) {
      const which = order[(round + i) % order.length]!;
      ns[which].push(run(runs[which]));
    }
  }
  liveSecrets.stop();
  return { hotNs: median(ns.hot), madeUpNs: median(ns.madeUp), mixNs: median(ns.mix) };
}

/**
 * (g) Counting on vs off on one process, in pairs of short rounds (on/off, off/on, …), with a bare
 * load generator (no per-response listener). Per pair, throughput and server CPU per request are
 * compared; a burst of outside load hits both rounds of a pair about equally, so the median of the
 * per-pair ratios is the figure, and their range says how much noise there was.
 */
async function measureCounting(server: { url: string; child: ChildProcess }, requests: Lists) {
  await switchCounting(server, true);
  await load('warm-up', server, requests, 2, VERIFY_HEADERS, false);
  let on = true;
  const rpsRatios: number[] = [];
  const cpuRatios: number[] = [];
  const rounds: Measured[] = [];
  for (let pair = 0; pair < COUNTING_PAIRS; pair++) {
    const measured: Record<'on' | 'off', Measured | undefined> = { on: undefined, off: undefined };
    for (const want of pair % 2 === 0 ? [true, false] : [false, true]) {
      if (on !== want) await switchCounting(server, want);
      on = want;
      const label = `(g) counting ${want ? 'on' : 'off'}`;
      measured[want ? 'on' : 'off'] = await load(
        label,
        server,
        requests,
        COUNTING_SECONDS,
        VERIFY_HEADERS,
        false,
      );
    }
    rpsRatios.push(measured.on!.rps / measured.off!.rps);
    cpuRatios.push(measured.on!.cpuUs / measured.off!.cpuUs);
    rounds.push(measured.on!, measured.off!);
  }
  if (on) await switchCounting(server, false);
  const onRounds = rounds.filter((m) => m.label.endsWith('on'));
  const offRounds = rounds.filter((m) => m.label.endsWith('off'));
  print(combine(onRounds));
  print(combine(offRounds));
  const range = (values: number[]) => `${Math.min(...values).toFixed(3)}–${Math.max(...values).toFixed(3)}`;
  console.log(
    `    (g) on/off per pair: throughput ${rpsRatios.map((r) => r.toFixed(3)).join(', ')}; ` +
      `server CPU per request ${cpuRatios.map((r) => r.toFixed(3)).join(', ')}`,
  );
  countingGoal =
    `goal: counting costs ≤ 3 % of hot throughput: (g) on/off in one process, median of ${COUNTING_PAIRS} pairs ` +
    `${median(rpsRatios).toFixed(3)}× throughput (range ${range(rpsRatios)}), ` +
    `${median(cpuRatios).toFixed(3)}× server CPU per request (range ${range(cpuRatios)})`;
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
    console.log(
      `seeded ${KEY_COUNT} keys (${seeded.current.length + seeded.inGrace.length} secrets) in ${((performance.now() - seedStart) / 1000).toFixed(1)} s; ` +
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
    if (FILTER_ONLY)
      return reportFilterRounds(rounds, cCounts, seeded.current.length + seeded.inGrace.length);
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
    const filterPath = await measureFilterInProcess(seeded.current.length + seeded.inGrace.length);
    console.log(
      `(k) verifyNow in this process: ${filterPath.hotNs.toFixed(0)} ns on a hot key, ${filterPath.madeUpNs.toFixed(0)} ns on a made-up key, ` +
        `${filterPath.mixNs.toFixed(0)} ns on the 90/5/5 mix (medians of 9 alternating runs)`,
    );

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
