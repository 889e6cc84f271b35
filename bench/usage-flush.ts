import { readFileSync } from 'node:fs';
import type postgres from 'postgres';
import { HOUR_MS } from '../src/keys/usage.ts';
import { UsageCounter } from '../src/services/usage-counter.ts';
import { addUseCounts } from '../src/store/usage-store.ts';
import { openScratchDatabase } from './scratch-database.ts';

const SECRETS = 10_000;
const ROUNDS = Math.max(2, Number(process.env.ROUNDS ?? 8));
const T0 = Date.parse('2027-06-01T10:00:00Z');

const scratch = await openScratchDatabase('usage', { max: 1 });
const { client, db } = scratch;
try {
  const ids = await seed(client);
  console.log(`PostgreSQL: ${(await client`select version()`)[0]!.version}`);
  // Wall time swings with outside load on a shared machine; CPU time (this process, plus the server
  // backend's when it runs on this machine) is the steadier figure.
  const [{ pid }] = (await client`select pg_backend_pid() as pid`) as unknown as [{ pid: number }];
  const backendCpuMs = () => {
    try {
      return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
    } catch {
      return Number.NaN;
    }
  };
  console.log(
    `load average at start: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
  );
  await addUseCounts(db, []); // nothing to write: no statement (and warms nothing up)

  const counter = new UsageCounter();
  const slots = ids.map((id) => counter.slotFor(id));
  let recorded = 0;
  const times: number[] = [];
  const cpuTimes: number[] = [];
  console.log(`one flush = every one of ${SECRETS} secrets used 1-20 times since the last flush`);
  for (let round = 0; round < ROUNDS; round++) {
    // The last round falls in the next hour: inserts again, like the first.
    const base = round === ROUNDS - 1 ? T0 + HOUR_MS : T0 + round * 10_000;
    for (let i = 0; i < slots.length; i++) {
      const uses = 1 + ((i * 7 + round) % 20);
      for (let n = 0; n < uses; n++) counter.record(slots[i]!, base + n, n % 10 === 9);
      recorded += uses;
    }
    const counts = counter.drain();
    const before = scratch.statements();
    const cpuBefore = process.cpuUsage();
    const backendBefore = backendCpuMs();
    const started = performance.now();
    await addUseCounts(db, counts);
    const ms = performance.now() - started;
    const cpu = process.cpuUsage(cpuBefore);
    const nodeCpu = (cpu.user + cpu.system) / 1000;
    const serverCpu = backendCpuMs() - backendBefore;
    times.push(ms);
    cpuTimes.push(nodeCpu + (Number.isNaN(serverCpu) ? 0 : serverCpu));
    const kind = round === 0 || round === ROUNDS - 1 ? 'new hour: inserts' : 'same hour: adds';
    console.log(
      `flush ${String(round + 1).padStart(2)} (${kind.padEnd(17)}) ${String(counts.length).padStart(6)} entries ` +
        `${ms.toFixed(1).padStart(8)} ms  ${scratch.statements() - before} statement(s)  ` +
        `cpu: node ${nodeCpu.toFixed(1)} ms + server ${serverCpu.toFixed(1)} ms`,
    );
  }
  const [{ total }] = (await client`select sum(uses)::bigint as total from secret_use_hours`) as unknown as [
    { total: string },
  ];
  if (Number(total) !== recorded) throw new Error(`expected ${recorded} uses in the table, found ${total}`);
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  console.log(
    `flush of ${SECRETS} secrets: median ${median(times).toFixed(1)} ms wall (max ${Math.max(...times).toFixed(1)}), ` +
      `median ${median(cpuTimes).toFixed(1)} ms CPU (node + server), one statement each; ` +
      `${recorded} uses written, all accounted for`,
  );
  console.log(
    `load average at end: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
  );

  // The verify path's share: one record per request (the slot comes with the cache entry).
  const calls = 20_000_000;
  for (let warm = 0; warm < 2; warm++) {
    counter.drain();
    const started = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) counter.record(slots[i % SECRETS]!, T0 + 2 * HOUR_MS + (i >> 14), false);
    const ns = Number(process.hrtime.bigint() - started) / calls;
    if (warm === 1)
      console.log(`record(): ${ns.toFixed(1)} ns per call (${calls} calls over ${SECRETS} slots)`);
  }
} finally {
  await scratch.drop();
}

async function seed(sql: postgres.Sql): Promise<string[]> {
  await sql.unsafe(`
    insert into keys (id, name, maintainers, created_at)
    select md5('key' || g)::uuid, 'bench-' || g, array['UBENCH'], now() from generate_series(1, ${SECRETS}) g`);
  await sql.unsafe(`
    insert into secrets (id, key_id, hash, display, created_at)
    select md5('secret' || g)::uuid, md5('key' || g)::uuid, encode(sha256(('secret' || g)::bytea), 'hex'),
           'rk_live_bench' || g || '…', now()
      from generate_series(1, ${SECRETS}) g`);
  await sql.unsafe('analyze');
  const rows = await sql<{ id: string }[]>`select id from secrets order by id`;
  return rows.map((row) => row.id);
}
