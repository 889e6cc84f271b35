import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createMetrics } from '../src/metrics.ts';
import { KeyChanges } from '../src/services/key-changes.ts';
import type { Database } from '../src/store/database.ts';
import { startVerifyPath } from '../src/verify-wiring.ts';
import { manualClock } from './support/manual-clock.ts';
import { onRealPostgres, openTestDatabase, type TestDatabase } from './support/test-database.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database.close());

/** The same database whose first LISTEN fails, as when the server blinks while a replica starts. */
function listenFailsOnce(db: Database): Database {
  let failed = false;
  const fail = <T extends object>(client: T, method: string): T =>
    new Proxy(client, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (prop !== method || typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          if (!failed) {
            failed = true;
            return Promise.reject(new Error('connection refused'));
          }
          return value.apply(target, args);
        };
      },
    });
  if (!onRealPostgres) return { ...db, pglite: fail(db.pglite!, 'listen') };
  // LISTEN runs on a client of its own, opened per attempt.
  const openListener = db.openListener!;
  return { ...db, openListener: (events) => fail(openListener(events), 'unsafe') };
}

it('keeps trying to LISTEN after a failed start, and reports the channel up once it works', async () => {
  const metrics = createMetrics();
  const lines: string[] = [];
  const path = await startVerifyPath({
    config: { REKEY_CACHE_SIZE: 100, REKEY_CACHE_TTL: 30_000 },
    database: listenFailsOnce(database),
    changes: new KeyChanges(),
    clock: manualClock(),
    metrics,
    logger: pino({ level: 'info' }, { write: (line: string) => void lines.push(line) }),
    listenRetryMs: 50,
  });
  try {
    expect(path.channel).toBeUndefined();
    expect(lines.join('')).toContain('trying again');
    const deadline = Date.now() + 5_000;
    while (!path.channel && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(path.channel).toBeDefined();
    expect((await metrics.invalidationChannelUp.get()).values[0]?.value).toBe(1);
  } finally {
    await path.stop();
  }
});
