/**
 * `npm run bench:verify`: rekey's verify route against a bare node:http server, side by side,
 * with the same load (autocannon, loopback, same connections and duration), on real PostgreSQL; and
 * (e) the gateways' forward-authorisation route on the same hot keys, which should cost what (b) does;
 * and (f) the same verify load on a second rekey whose usage counter counts nothing
 * (bench/rekey-counting-switch.ts, counting off); then (g) what counting costs, measured on that one
 * process with counting switched on and off in alternating rounds, so nothing else differs; and (h)
 * the same comparison on verifyNow alone in this process (no HTTP, no sockets: nearly free of noise);
 * then (i) and (j), the same two comparisons for client attribution (who presented each key), and
 * (k) a canary key against unknown keys (see measureCanaries; BENCH_ONLY=canary runs only that).
 *
 *   DATABASE_URL  use this database (keys are added to it); otherwise a scratch database is created
 *                 on BENCH_ADMIN_URL (default postgres://postgres@127.0.0.1:5432/test) and dropped.
 *   BENCH_DURATION seconds per measurement (default 12), BENCH_CONNECTIONS (default 50),
 *   BENCH_ROUNDS (default 6): (a), (b), (e) and (f) alternate in this many rounds of DURATION/ROUNDS
 *                 seconds (keep it a whole number: autocannon runs whole seconds), a-b-e-f, b-e-f-a,
 *                 …, so none always goes first.
 *   BENCH_COUNTING_PAIRS (default 10) × 2 rounds of BENCH_COUNTING_SECONDS (default 2) for (g): on/off,
 *                 off/on, … (no side always first); per pair, the ratio of throughput and of server CPU
 *                 per request; their medians and ranges are the figures.
 *   BENCH_CLIENT_PAIRS (default 6): the same for (i), client attribution switched on and off on a third
 *                 rekey (counting on either way), for verify with a "client" body and for authorize with
 *                 X-Forwarded-For and User-Agent, hot keys each presented by 3 clients; (j) is its
 *                 in-process counterpart, like (h).
 *
 * Servers run as child processes; autocannon runs in this process, so load generation costs the same
 * for every run. The machine has 2 cores: generator and server share them identically in each run.
 * Alternating (a) and (b) in short rounds keeps drift from other work on the machine from favouring
 * any side; their figures are totals over the rounds (p50/p99: the median round).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { pino } from 'pino';
import postgres from 'postgres';
import { systemClock } from '../src/clock.ts';
import { generateToken } from '../src/keys/token.ts';
import { createCanaryTryRecorder } from '../src/services/canary-tries.ts';
import { createCanaryWatch } from '../src/services/canary-watch.ts';
import { createKey } from '../src/services/create-key.ts';
import { KeyChanges } from '../src/services/key-changes.ts';
import { UsageCounter, type UseSlot } from '../src/services/usage-counter.ts';
import { createVerifyCache } from '../src/services/verify-cache.ts';
import type { Db } from '../src/store/database.ts';
import { openPostgres } from '../src/store/open-postgres.ts';
import { seedKeys } from './seed.ts';

const DURATION = Number(process.env.BENCH_DURATION ?? 12);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const COUNTING_PAIRS = Number(process.env.BENCH_COUNTING_PAIRS ?? 10);
const COUNTING_SECONDS = Number(process.env.BENCH_COUNTING_SECONDS ?? 2);
const CLIENT_PAIRS = Number(process.env.BENCH_CLIENT_PAIRS ?? 6);
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
  setupRequest?: (r: Record<string, unknown>) => Record<string, unknown>;
};

function staticRequests(tokens: string[]): Request[] {
  return tokens.map((key) => ({ method: 'POST', path: '/v1/keys/verify', body: JSON.stringify({ key }) }));
}

/** What nginx auth_request sends: a GET with the client's key and the gateway's own token. */
function authorizeRequests(tokens: string[]): Request[] {
  return tokens.map((key) => ({ method: 'GET', path: '/v1/keys/authorize', headers: { 'x-api-key': key } }));
}

const VERIFY_HEADERS = { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' };
const AUTHORIZE_HEADERS = { 'x-rekey-gateway-token': API_TOKEN };

function dynamicRequest(next: () => string): Request[] {
  return [
    {
      method: 'POST',
      path: '/v1/keys/verify',
      setupRequest: (request: Record<string, unknown>) => ({
        ...request,
        body: JSON.stringify({ key: next() }),
      }),
    },
  ];
}

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
  requests: Request[],
  duration = DURATION,
  headers: Record<string, string> = VERIFY_HEADERS,
  /** Keep every response time (for p50/p99): a listener per response, work for the load generator. */
  timed = true,
): Promise<Measured> {
  const { url } = server;
  await settle();
  const cpuBefore = cpuSeconds(server.child.pid);
  const run = autocannon({
    url,
    connections: CONNECTIONS,
    duration,
    headers,
    requests: requests as never,
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
let clientsGoal = 'goal: client attribution ≤ 3 % of hot throughput: not measured';

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
  const { cache, tokens } = await hotCache(usage);
  return alternateInProcess(
    usage,
    (on) => {
      usage.counting = on;
    },
    (i) => cache.verifyNow(tokens[i % HOT_KEYS]),
  );
}

/** A verify cache over a fake lookup, its HOT_KEYS tokens already cached, counting into `usage`. */
async function hotCache(usage: UsageCounter) {
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
  return { cache, tokens };
}

/**
 * CPU time per call of `call(i)` with a feature switched on and off by `set`, in 10 alternating pairs of
 * 300 000 calls after a warm-up of both sides; the counter is drained between pairs.
 */
function alternateInProcess(
  usage: UsageCounter,
  set: (on: boolean) => void,
  call: (i: number) => unknown,
): { onNs: number; offNs: number; extraNs: number[] } {
  const CALLS = 300_000;
  const run = (on: boolean) => {
    set(on);
    const started = process.cpuUsage();
    for (let i = 0; i < CALLS; i++) call(i);
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
 * One process whose counting (or client attribution) is switched on and off between rounds, in pairs of
 * short rounds (on/off, off/on, …), with a bare load generator (no per-response listener). Per pair,
 * throughput and server CPU per request are compared; a burst of outside load hits both rounds of a
 * pair about equally, so the median of the per-pair ratios is the figure, and their range says how much
 * noise there was. Used by (g) counting and (i) client attribution.
 */
async function measureSwitch(
  label: string,
  server: { url: string; child: ChildProcess },
  requests: Request[],
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
  const onRounds = rounds.filter((m) => m.label.endsWith('on'));
  const offRounds = rounds.filter((m) => m.label.endsWith('off'));
  print(combine(onRounds));
  print(combine(offRounds));
  const range = (values: number[]) => `${Math.min(...values).toFixed(3)}–${Math.max(...values).toFixed(3)}`;
  console.log(
    `    ${label} on/off per pair: throughput ${rpsRatios.map((r) => r.toFixed(3)).join(', ')}; ` +
      `server CPU per request ${cpuRatios.map((r) => r.toFixed(3)).join(', ')}`,
  );
  const totalOn = combine(onRounds);
  const totalOff = combine(offRounds);
  return (
    `median of ${pairs} pairs ${median(rpsRatios).toFixed(3)}× throughput (range ${range(rpsRatios)}), ` +
    `${median(cpuRatios).toFixed(3)}× server CPU per request (range ${range(cpuRatios)}); totals ` +
    `${totalOn.rps.toFixed(0)} vs ${totalOff.rps.toFixed(0)} req/s, ${totalOn.cpuUs.toFixed(1)} vs ` +
    `${totalOff.cpuUs.toFixed(1)} µs server CPU per request`
  );
}

/** (g) Usage counting on vs off, on one process (bench/rekey-counting-switch.ts). */
async function measureCounting(server: { url: string; child: ChildProcess }, requests: Request[]) {
  const figures = await measureSwitch('(g) counting', server, requests, VERIFY_HEADERS, COUNTING_PAIRS);
  countingGoal = `goal: counting costs ≤ 3 % of hot throughput: (g) on/off in one process, ${figures}`;
}

/**
 * Hot keys each presented by a few clients, as gateways pass them: verify with the body's `client`
 * (byte for byte what a gateway writes), authorize with `X-Forwarded-For` and `User-Agent`.
 */
const CLIENTS_PER_KEY = 3;
function clientOf(i: number) {
  return {
    ip: `10.0.${(i >> 8) & 255}.${i & 255}`,
    userAgent: `python-requests/2.31 worker-${i % CLIENTS_PER_KEY}`,
  };
}
function verifyWithClients(tokens: string[]): Request[] {
  return tokens.flatMap((key, k) =>
    Array.from({ length: CLIENTS_PER_KEY }, (_, c) => ({
      method: 'POST' as const,
      path: '/v1/keys/verify',
      body: JSON.stringify({ key, client: clientOf(k * CLIENTS_PER_KEY + c) }),
    })),
  );
}
function authorizeWithClients(tokens: string[]): Request[] {
  return tokens.flatMap((key, k) =>
    Array.from({ length: CLIENTS_PER_KEY }, (_, c) => {
      const client = clientOf(k * CLIENTS_PER_KEY + c);
      return {
        method: 'GET' as const,
        path: '/v1/keys/authorize',
        headers: { 'x-api-key': key, 'x-forwarded-for': client.ip, 'user-agent': client.userAgent },
      };
    }),
  );
}

/**
 * (j) What attribution adds to verifyNow on a hit, in this process (no HTTP): the same hot keys with
 * their clients, attribution on and off in alternating pairs of runs, as (h) does for counting.
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
  const { cache, tokens } = await hotCache(usage);
  // Request i: key i / CLIENTS_PER_KEY by one of its clients.
  const clients = Array.from({ length: HOT_KEYS * CLIENTS_PER_KEY }, (_, i) => clientOf(i));
  return alternateInProcess(
    usage,
    (on) => {
      usage.attributing = on;
    },
    (i) => {
      const client = clients[i % clients.length]!;
      return cache.verifyNow(tokens[Math.floor(i / CLIENTS_PER_KEY) % HOT_KEYS], client.ip, client.userAgent);
    },
  );
}

/**
 * (k) A canary must not be told from an unknown key by its timing. Over HTTP on the real rekey, in
 * alternating rounds: the same canary again and again (answered from memory, each try queued for its
 * alarm and written in batches), a key never seen before on every request (until unknown keys are
 * ruled out in memory, each costs a database lookup), and one unknown key again and again (answered from
 * the NOT_FOUND cache). Then, in this process, verifyNow on the canary against the cached unknown key
 * (the request path's own cost, tries queued but written nowhere).
 */
async function measureCanaries(rekey: { url: string; child: ChildProcess }, databaseUrl: string) {
  const database = await openPostgres(databaseUrl, { max: 2 });
  const deps = {
    db: database.db,
    clock: systemClock,
    changes: new KeyChanges(),
    keyPrefix: 'rk_live',
    admins: [],
  };
  const { token: canary } = await createKey(deps, {
    name: `bench-canary-${randomBytes(3).toString('hex')}`,
    alertChannel: 'CBENCH',
    canary: true,
    actor: { id: 'cli:bench', source: 'cli' },
  });
  for (let waited = 0; (await metric(rekey.url, 'rekey_canary_keys')) < 1; waited += 50) {
    if (waited > 10_000) throw new Error('rekey did not learn of the canary within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const seenUnknown = generateToken('rk_live').token;
  await verifyOnce(rekey.url, seenUnknown);
  const seconds = 2;
  const rounds: Record<'canary' | 'fresh' | 'seen', Measured[]> = { canary: [], fresh: [], seen: [] };
  const measure = {
    canary: () => load('(k) canary key (memory)', rekey, staticRequests([canary]), seconds),
    fresh: () =>
      load(
        '(k) unknown, never seen',
        rekey,
        dynamicRequest(() => generateToken('rk_live').token),
        seconds,
      ),
    seen: () => load('(k) unknown, cached NOT_FOUND', rekey, staticRequests([seenUnknown]), seconds),
  };
  const order = ['canary', 'fresh', 'seen'] as const;
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < order.length; i++) {
      const which = order[(round + i) % order.length]!;
      rounds[which].push(await measure[which]());
    }
  }
  const c = combine(rounds.canary);
  const f = combine(rounds.fresh);
  const u = combine(rounds.seen);
  print(c);
  print(f);
  print(u);
  const tries = await metric(rekey.url, 'rekey_canary_tries_total');

  // The request path alone, in this process: the replica's own canary watch (loaded from the
  // database) against a cached NOT_FOUND. The queue's writes go nowhere here.
  const writes = { transaction: async () => 0 } as unknown as Db;
  const logger = pino({ level: 'silent' });
  const watch = createCanaryWatch({
    db: database.db,
    clock: systemClock,
    logger,
    recorder: createCanaryTryRecorder({ db: writes, logger }),
  });
  await watch.reload();
  await database.close();
  const cache = createVerifyCache({
    lookupMany: async () => [],
    clock: systemClock,
    maxEntries: 1_000,
    ttlMs: 600_000,
    canaries: watch,
  });
  await cache.verify(seenUnknown);
  const CALLS = 200_000;
  const run = (token: string) => {
    const started = process.cpuUsage();
    for (let i = 0; i < CALLS; i++) cache.verifyNow(token);
    const used = process.cpuUsage(started);
    return ((used.user + used.system) * 1000) / CALLS;
  };
  run(canary);
  run(seenUnknown);
  const canaryNs: number[] = [];
  const unknownNs: number[] = [];
  for (let pair = 0; pair < 10; pair++) {
    canaryNs.push(run(canary));
    unknownNs.push(run(seenUnknown));
    await watch.tries.flush();
  }
  console.log(
    `(k) canary vs unknown keys over HTTP: p50 ${c.p50.toFixed(2)} ms canary, ${f.p50.toFixed(2)} ms never seen ` +
      `(${(c.p50 / f.p50).toFixed(2)}×), ${u.p50.toFixed(2)} ms cached (${(c.p50 / u.p50).toFixed(2)}×); ` +
      `p99 ${c.p99.toFixed(2)} / ${f.p99.toFixed(2)} / ${u.p99.toFixed(2)} ms; ` +
      `server CPU ${c.cpuUs.toFixed(1)} / ${f.cpuUs.toFixed(1)} / ${u.cpuUs.toFixed(1)} µs per request; ${tries} canary tries counted`,
  );
  console.log(
    `    (k) in this process: verifyNow ${median(canaryNs).toFixed(0)} ns on the canary vs ${median(unknownNs).toFixed(0)} ns on a cached unknown key ` +
      `(${(median(canaryNs) / median(unknownNs)).toFixed(2)}×)`,
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
    // The same with client attribution switchable (counting on either way): what attribution costs.
    const unattributed = await startChild('./rekey-counting-switch.ts', {
      DATABASE_URL: databaseUrl,
      PORT: '0',
      REKEY_API_TOKENS: API_TOKEN,
      LOG_LEVEL: 'info',
      BENCH_SWITCH: 'clients',
    });
    children.push(unattributed.child);

    // Sanity: the rekey answers are real verdicts, not errors.
    const sample = (await verifyOnce(rekey.url, hot[0]!)) as { valid?: boolean };
    if (sample.valid !== true) throw new Error(`hot key did not verify: ${JSON.stringify(sample)}`);
    if (process.env.BENCH_ONLY === 'canary') return await measureCanaries(rekey, databaseUrl);

    const hotRequests = staticRequests(hot);
    const hotAuthorize = authorizeRequests(hot);
    // Warm-up (JIT, connection pools, the hot keys' cache entries), identical for both servers.
    await load('warm-up', baseline, hotRequests, 3);
    await load('warm-up', rekey, hotRequests, 3);
    await load('warm-up', rekey, hotAuthorize, 3, AUTHORIZE_HEADERS);
    await load('warm-up', uncounted, hotRequests, 3);

    const roundsA: Measured[] = [];
    const roundsB: Measured[] = [];
    const roundsE: Measured[] = [];
    const roundsF: Measured[] = [];
    const measureA = async () =>
      roundsA.push(await load('(a) baseline node:http constant', baseline, hotRequests, DURATION / ROUNDS));
    const measureB = async () =>
      roundsB.push(await load('(b) verify, hot keys', rekey, hotRequests, DURATION / ROUNDS));
    const measureE = async () =>
      roundsE.push(
        await load('(e) authorize, hot keys', rekey, hotAuthorize, DURATION / ROUNDS, AUTHORIZE_HEADERS),
      );
    const measureF = async () =>
      roundsF.push(await load('(f) verify, hot keys, uncounted', uncounted, hotRequests, DURATION / ROUNDS));
    // Sanity: the authorize answers are grants, not refusals (autocannon counts them as non-2xx anyway).
    const granted = await fetch(`${rekey.url}/v1/keys/authorize`, {
      headers: { ...AUTHORIZE_HEADERS, 'x-api-key': hot[0]! },
    });
    if (granted.status !== 200) throw new Error(`hot key was not authorised: ${granted.status}`);
    const order = [measureA, measureB, measureE, measureF];
    for (let round = 0; round < ROUNDS; round++) {
      // a b e f, b e f a, …: no side always runs first (or always right after the same other).
      for (let i = 0; i < order.length; i++) await order[(round + i) % order.length]!();
    }
    const a = combine(roundsA);
    const b = combine(roundsB);
    const e = combine(roundsE);
    const f = combine(roundsF);
    console.log(
      `    rounds (a): ${roundsA.map((m) => m.rps.toFixed(0)).join(', ')} req/s; (b): ${roundsB.map((m) => m.rps.toFixed(0)).join(', ')} req/s; ` +
        `ratio per round: ${roundsB.map((m, i) => (m.rps / roundsA[i]!.rps).toFixed(2)).join(', ')}; ` +
        `server CPU µs/request (a): ${roundsA.map((m) => m.cpuUs.toFixed(1)).join(', ')}, (b): ${roundsB.map((m) => m.cpuUs.toFixed(1)).join(', ')}; ` +
        `p99 ms (a): ${roundsA.map((m) => m.p99.toFixed(2)).join(', ')}, (b): ${roundsB.map((m) => m.p99.toFixed(2)).join(', ')}`,
    );
    console.log(
      `    (e) rounds: ${roundsE.map((m) => m.rps.toFixed(0)).join(', ')} req/s; ratio to (b) per round: ${roundsE.map((m, i) => (m.rps / roundsB[i]!.rps).toFixed(2)).join(', ')}; ` +
        `server CPU µs/request (e): ${roundsE.map((m) => m.cpuUs.toFixed(1)).join(', ')}; p99 ms (e): ${roundsE.map((m) => m.p99.toFixed(2)).join(', ')}`,
    );
    print(a);
    print(b);
    print(e);
    print(f);
    console.log(
      `    (b) counted / (f) uncounted per round: ${roundsB.map((m, i) => (m.rps / roundsF[i]!.rps).toFixed(3)).join(', ')}; ` +
        `server CPU µs/request (f): ${roundsF.map((m) => m.cpuUs.toFixed(1)).join(', ')}`,
    );

    await measureCounting(uncounted, hotRequests);
    const inProcess = await measureCountingInProcess();
    console.log(
      `(h) verifyNow on a hit, in this process: ${inProcess.onNs.toFixed(0)} ns counted, ${inProcess.offNs.toFixed(0)} ns not ` +
        `(median extra ${median(inProcess.extraNs).toFixed(0)} ns per request, pairs ${Math.min(...inProcess.extraNs).toFixed(0)}…${Math.max(...inProcess.extraNs).toFixed(0)})`,
    );
    countingShare = median(inProcess.extraNs) / 1000;

    const attributedVerify = await measureSwitch(
      '(i) clients, verify',
      unattributed,
      verifyWithClients(hot),
      VERIFY_HEADERS,
      CLIENT_PAIRS,
    );
    const attributedAuthorize = await measureSwitch(
      '(i) clients, authorize',
      unattributed,
      authorizeWithClients(hot),
      AUTHORIZE_HEADERS,
      CLIENT_PAIRS,
    );
    const clientsInProcess = await measureClientsInProcess();
    console.log(
      `(j) verifyNow on a hit with its client, in this process: ${clientsInProcess.onNs.toFixed(0)} ns attributed, ` +
        `${clientsInProcess.offNs.toFixed(0)} ns not (median extra ${median(clientsInProcess.extraNs).toFixed(0)} ns per request, ` +
        `pairs ${Math.min(...clientsInProcess.extraNs).toFixed(0)}…${Math.max(...clientsInProcess.extraNs).toFixed(0)})`,
    );
    clientsGoal = [
      `goal: client attribution ≤ 3 % of hot throughput: (i) on/off in one process, verify with "client": ${attributedVerify}`,
      `    (i) authorize with X-Forwarded-For and User-Agent: ${attributedAuthorize}`,
      `    (j) attribution's own CPU: ${median(clientsInProcess.extraNs).toFixed(0)} ns per request`,
    ].join('\n');

    let coldIndex = 0;
    const missesBefore = await metric(rekey.url, 'rekey_verify_cache_misses_total');
    const c = await load(
      '(c) verify, keys never seen before',
      rekey,
      dynamicRequest(() => cold[coldIndex++ % cold.length]!),
    );
    const coldMisses = (await metric(rekey.url, 'rekey_verify_cache_misses_total')) - missesBefore;
    print(c);
    console.log(
      `    cache misses during (c): ${coldMisses} of ${c.total} (pool of ${cold.length} unseen keys${coldIndex > cold.length ? ', EXHAUSTED: some repeats' : ''})`,
    );

    let mixIndex = 0;
    const d = await load(
      '(d) 90% hot / 5% NOT_FOUND / 5% MALF',
      rekey,
      dynamicRequest(() => {
        const slot = mixIndex++ % 20;
        if (slot === 0) return generateToken('rk_live').token; // well-formed, never issued: NOT_FOUND
        if (slot === 1) return malformed();
        return hot[mixIndex % hot.length]!;
      }),
    );
    print(d);

    await measureCanaries(rekey, databaseUrl);

    const rss = await metric(rekey.url, 'process_resident_memory_bytes');
    const entries = await metric(rekey.url, 'rekey_verify_cache_entries');
    console.log(
      `rekey RSS after the runs: ${(rss / 1_048_576).toFixed(0)} MB with ${entries} cached entries`,
    );
    console.log(
      `goals: (b) throughput ${(b.rps / a.rps).toFixed(2)}× baseline (≥ 0.80), p99 ${b.p99.toFixed(2)} ms vs ${a.p99.toFixed(2)} ms baseline ` +
        `(${(b.p99 / a.p99).toFixed(2)}×, ≤ 1.5×); (c) ${c.rps.toFixed(0)}/s (≥ 5000)`,
    );
    console.log(
      `goal: (e) authorize within 5 % of (b) verify: ${(e.rps / b.rps).toFixed(3)}× throughput, ` +
        `${(e.cpuUs / b.cpuUs).toFixed(3)}× server CPU per request, p99 ${e.p99.toFixed(2)} vs ${b.p99.toFixed(2)} ms`,
    );
    console.log(
      `across processes: (b) counted ${(b.rps / f.rps).toFixed(3)}× (f) uncounted ` +
        `(median round ${median(roundsB.map((m, i) => m.rps / roundsF[i]!.rps)).toFixed(3)}×), ` +
        `${(b.cpuUs / f.cpuUs).toFixed(3)}× server CPU per request (two processes: see (g) for counting's cost)`,
    );
    console.log(countingGoal);
    console.log(clientsGoal);
    console.log(
      `    (h) counting's own CPU: ${(countingShare * 1000).toFixed(0)} ns per request = ${((100 * countingShare) / b.cpuUs).toFixed(2)} % of (b)'s ${b.cpuUs.toFixed(1)} µs server CPU per request`,
    );
    console.log(`verify/baseline throughput ratio: ${(b.rps / a.rps).toFixed(2)}`);
  } finally {
    await Promise.all(children.map(stopChild));
    await dropScratch?.();
  }
}

await main();
