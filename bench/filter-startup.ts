/**
 * `npm run bench:filter`: the live-secret filter with 1 million live secrets (README, "Verify API
 * speed"): how long a build takes and what it holds, in this process; then how soon a rekey process
 * started on that database is ready and has its filter, and its memory beside a rekey on an empty
 * database.
 *
 *   BENCH_SECRETS   live secrets to seed (default 1 000 000): a quarter current, the rest in grace, plus
 *                   one expired 60 days ago for every fifth key and a deleted key's, which the filter leaves out.
 *   BENCH_ADMIN_URL server to create the scratch databases on (default postgres://postgres@127.0.0.1:5432/test).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { systemClock } from '../src/clock.ts';
import { createLiveSecretFilter } from '../src/services/live-secret-filter.ts';
import { readLiveSecretPrefixes } from '../src/store/live-secret-prefixes.ts';
import { openPostgres } from '../src/store/open-postgres.ts';

const SECRETS = Number(process.env.BENCH_SECRETS ?? 1_000_000);
const ADMIN_URL = process.env.BENCH_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSX = import.meta.resolve('tsx');
const API_TOKEN = `bench-${randomBytes(16).toString('hex')}`;
const mb = (bytes: number) => `${(bytes / 1_048_576).toFixed(2)} MB`;
const gc = () => (globalThis as { gc?: () => void }).gc?.();

async function scratchDatabase(admin: postgres.Sql, name: string): Promise<string> {
  await admin.unsafe(`create database "${name}"`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  // Migrated by the app's own code.
  await (await openPostgres(url.toString(), { max: 1 })).close();
  return url.toString();
}

/**
 * Keys and secrets made in SQL: SECRETS live ones (a current and three in grace per key), one expired
 * 60 days ago for every fifth key, and a deleted key with its secrets. Triggers are off for the load (no
 * replica listens yet, and a million announcements would only fill the notification queue).
 */
async function seed(url: string): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  const keys = Math.ceil(SECRETS / 4);
  await sql.begin(async (tx) => {
    await tx`set local session_replication_role = replica`;
    await tx`
      insert into keys (name, products, maintainers, alert_channel, created_at, deleted_at)
      select 'bench-' || g, '{payments}', '{UBENCH01}', 'CBENCH01', now(), case when g = 0 then now() end
      from generate_series(0, ${keys}) g`;
    await tx`
      insert into secrets (key_id, hash, display, created_at, expires_at, next_notice_at, retired_at)
      select k.id, encode(sha256(convert_to(k.id::text || '/' || s, 'UTF8')), 'hex'), 'rk_live_bench…', now(),
             case when s = 0 then null when s < 4 then now() + interval '72 hours' else now() - interval '60 days' end,
             -- As the scheduler leaves them: nothing owed before the next reminder, the expired retired.
             case when s between 1 and 3 then now() + interval '48 hours' end,
             case when s = 4 then now() - interval '60 days' end
      from keys k cross join generate_series(0, 4) s
      where s < 4 or k.name::text like '%0' or k.name::text like '%5'`;
  });
  await sql`analyze`;
  await sql.end({ timeout: 5 });
}

async function buildInProcess(url: string) {
  const database = await openPostgres(url, { max: 2 });
  try {
    const builds: { ms: number; secrets: number; bytes: number; heapBytes: number }[] = [];
    for (let i = 0; i < 3; i++) {
      gc();
      const before = process.memoryUsage();
      let built = { secrets: 0, bytes: 0, ms: 0 };
      const filter = createLiveSecretFilter({
        readLivePrefixes: (since) => readLiveSecretPrefixes(database.db, since),
        clock: systemClock,
        onRebuilt: (b) => {
          built = b;
        },
      });
      filter.channelUp();
      await filter.settled();
      gc();
      const after = process.memoryUsage();
      filter.stop();
      const heapBytes = after.heapUsed + after.arrayBuffers - (before.heapUsed + before.arrayBuffers);
      builds.push({ ...built, heapBytes });
    }
    return builds;
  } finally {
    await database.close();
  }
}

function startRekey(url: string): { child: ChildProcess; listening: Promise<string>; startedAt: number } {
  const startedAt = performance.now();
  const child = spawn(process.execPath, ['--import', TSX, 'src/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: url, PORT: '0', REKEY_API_TOKENS: API_TOKEN, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const listening = new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening on (http:\/\/[\d.]+:\d+)/.exec(out);
      if (match) resolve(match[1]!);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`rekey exited with ${code}:\n${out}`)));
  });
  return { child, listening, startedAt };
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : Number.NaN;
}

async function waitFor(probe: () => Promise<boolean>): Promise<number> {
  for (;;) {
    if (await probe().catch(() => false)) return performance.now();
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A rekey process on `url`: when it listened, was ready, had a trusted filter; its RSS then. */
async function startAndMeasure(url: string) {
  const rekey = startRekey(url);
  try {
    const base = await rekey.listening;
    const listeningAt = performance.now();
    const readyAt = await waitFor(async () => (await fetch(`${base}/readyz`)).status === 200);
    const trustedAt = await waitFor(async () => (await metric(base, 'rekey_verify_filter_trusted')) === 1);
    // Let the build's garbage go before reading memory.
    await new Promise((r) => setTimeout(r, 2_000));
    return {
      listeningMs: listeningAt - rekey.startedAt,
      readyMs: readyAt - rekey.startedAt,
      trustedMs: trustedAt - rekey.startedAt,
      rss: await metric(base, 'process_resident_memory_bytes'),
      filterBytes: await metric(base, 'rekey_verify_filter_bytes'),
      filterSecrets: await metric(base, 'rekey_verify_filter_secrets'),
    };
  } finally {
    await new Promise<void>((resolve) => {
      rekey.child.once('exit', () => resolve());
      rekey.child.kill('SIGTERM');
    });
  }
}

async function main() {
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  const names = [
    `rekey_bench_filter_${Date.now().toString(36)}`,
    `rekey_bench_empty_${Date.now().toString(36)}`,
  ];
  try {
    const url = await scratchDatabase(admin, names[0]!);
    const emptyUrl = await scratchDatabase(admin, names[1]!);
    const seedStarted = performance.now();
    await seed(url);
    const counter = postgres(url, { max: 1 });
    const [counted] = await counter<{ live: number; all: number }[]>`
      select count(*) filter (where k.deleted_at is null and (s.expires_at is null or s.expires_at > now()))::int as live,
             count(*)::int as "all"
      from secrets s join keys k on k.id = s.key_id`;
    await counter.end({ timeout: 5 });
    const { live, all } = counted!;
    console.log(
      `seeded ${all} secrets, ${live} of them live, in ${((performance.now() - seedStarted) / 1000).toFixed(1)} s`,
    );

    for (const [i, b] of (await buildInProcess(url)).entries()) {
      console.log(
        `build ${i + 1} in this process: ${b.secrets} secrets in ${Math.round(b.ms)} ms; filter ${mb(b.bytes)} ` +
          `(${(b.bytes / b.secrets).toFixed(2)} bytes per secret); heap + array buffers after it ${mb(b.heapBytes)}`,
      );
    }

    const full = await startAndMeasure(url);
    const empty = await startAndMeasure(emptyUrl);
    for (const [label, m] of [
      [`rekey on ${live} live secrets`, full],
      ['rekey on an empty database', empty],
    ] as const) {
      console.log(
        `${label}: listening after ${Math.round(m.listeningMs)} ms, /readyz 200 after ${Math.round(m.readyMs)} ms, ` +
          `filter trusted after ${Math.round(m.trustedMs)} ms (${m.filterSecrets} secrets, ${mb(m.filterBytes)}); RSS ${mb(m.rss)}`,
      );
    }
    console.log(
      `filter ready ${Math.round(full.trustedMs - full.readyMs)} ms after readiness; ` +
        `RSS difference ${mb(full.rss - empty.rss)} for ${full.filterSecrets} secrets`,
    );
  } finally {
    for (const name of names) await admin.unsafe(`drop database if exists "${name}" with (force)`);
    await admin.end({ timeout: 5 });
  }
}

await main();
