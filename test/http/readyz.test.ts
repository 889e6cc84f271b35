import type { AddressInfo } from 'node:net';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHealthMonitor } from '../../src/health-monitor.ts';
import { createHttpServer } from '../../src/http/server.ts';
import { createLogger } from '../../src/logger.ts';
import { createMetrics } from '../../src/metrics.ts';
import { rowsOf } from '../../src/store/database.ts';
import { type HealthProbe, openHealthProbe } from '../../src/store/health-probe.ts';
import { onRealPostgres, openTestDatabase, type TestDatabase } from '../support/test-database.ts';

let database: TestDatabase;
let probe: HealthProbe;
beforeAll(async () => {
  // One pool connection on PostgreSQL: the probe must never need it.
  database = await openTestDatabase({ max: 1 });
  probe = openHealthProbe(database);
});
afterAll(async () => {
  await probe?.close();
  await database?.close();
});

/**
 * /readyz as startRekey wires it: a server whose readiness comes from a monitor over `check`, stopped
 * when the test ends (`onTestFinished` of that test: the waiting tests below run concurrently).
 */
async function serveReadiness(
  check: () => Promise<void>,
  onTestFinished: (fn: () => Promise<void>) => void,
): Promise<string> {
  const monitor = await startHealthMonitor({ check });
  const server = createHttpServer({
    logger: createLogger('silent'),
    metrics: createMetrics(),
    verify: () => {},
    ready: monitor.ready,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(async () => {
    monitor.stop();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/readyz`;
}

async function until<T>(read: () => Promise<T>, ok: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value) || performance.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 20));
  }
}
const status = (url: string) => fetch(url).then((r) => r.status);

// Each of these waits on the monitor's cadence with a server of its own: they wait together.
describe.concurrent('GET /readyz', () => {
  it('answers 200 requests with at most one database check per second between them', async ({
    onTestFinished,
  }) => {
    let checks = 0;
    const url = await serveReadiness(() => {
      checks++;
      return probe.check();
    }, onTestFinished);
    const before = checks;
    const started = performance.now();
    const answers = await Promise.all(Array.from({ length: 200 }, () => status(url)));
    const seconds = (performance.now() - started) / 1000;
    expect(answers).toEqual(Array(200).fill(200));
    expect(checks - before).toBeLessThanOrEqual(Math.floor(seconds) + 1);
  });

  it('turns 503 within about a second of the database failing, and 200 again once it answers', async ({
    onTestFinished,
  }) => {
    let down = false;
    const url = await serveReadiness(
      () => (down ? Promise.reject(new Error('connect ECONNREFUSED')) : probe.check()),
      onTestFinished,
    );
    expect(await status(url)).toBe(200);
    down = true;
    expect(
      await until(
        () => status(url),
        (s) => s === 503,
        2_500,
      ),
    ).toBe(503);
    expect(await (await fetch(url)).json()).toEqual({ ready: false });
    down = false;
    expect(
      await until(
        () => status(url),
        (s) => s === 200,
        2_500,
      ),
    ).toBe(200);
  });

  it('turns 503 when a check hangs, without starting more checks behind it', async ({ onTestFinished }) => {
    let hanging = 0;
    const url = await serveReadiness(() => {
      if (hanging === 0) return probe.check();
      hanging++;
      return new Promise<void>(() => {});
    }, onTestFinished);
    hanging = 1;
    expect(
      await until(
        () => status(url),
        (s) => s === 503,
        3_500,
      ),
    ).toBe(503);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(hanging).toBe(2);
  });
});

describe('the readiness check', () => {
  it('fails while a migration this code ships is missing from the database, saying what to do', async () => {
    await expect(probe.check()).resolves.toBeUndefined();
    const [last] = rowsOf<{ id: number; hash: string; created_at: string }>(
      await database.db.execute(
        sql`delete from drizzle.__drizzle_migrations
            where id = (select max(id) from drizzle.__drizzle_migrations)
            returning id, hash, created_at::text`,
      ),
    );
    try {
      await expect(probe.check()).rejects.toThrow(
        /^\d+ of \d+ migrations applied: restart rekey to apply the rest$/,
      );
    } finally {
      await database.db.execute(
        sql`insert into drizzle.__drizzle_migrations (id, hash, created_at)
            values (${last!.id}, ${last!.hash}, ${last!.created_at}::bigint)`,
      );
    }
    await expect(probe.check()).resolves.toBeUndefined();
  });
});

describe.runIf(onRealPostgres)('the readiness check on PostgreSQL', () => {
  it('answers on a connection of its own while every pool connection is busy', async () => {
    // The pool has one connection (max 1): hold it for two seconds.
    let held = true;
    const holding = database.sql!`select pg_sleep(2)`.then(() => {
      held = false;
    });
    await new Promise((r) => setTimeout(r, 100));
    await probe.check();
    expect(held).toBe(true);
    await holding;
  });

  it('turns 503 within about a second of the server refusing connections, and 200 once it accepts them', async ({
    onTestFinished,
  }) => {
    const url = await serveReadiness(probe.check, onTestFinished);
    expect(await status(url)).toBe(200);
    const name = new URL(database.url!).pathname.slice(1);
    const admin = postgres(process.env.TEST_DATABASE_URL!, { max: 1, onnotice: () => {} });
    try {
      await admin.unsafe(`alter database "${name}" allow_connections false`);
      await admin`select pg_terminate_backend(pid) from pg_stat_activity where datname = ${name}`;
      expect(
        await until(
          () => status(url),
          (s) => s === 503,
          3_000,
        ),
      ).toBe(503);
    } finally {
      await admin.unsafe(`alter database "${name}" allow_connections true`);
      await admin.end({ timeout: 5 });
    }
    expect(
      await until(
        () => status(url),
        (s) => s === 200,
        5_000,
      ),
    ).toBe(200);
  });
});
