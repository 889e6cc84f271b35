import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startRekey } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { isAppError } from '../../src/errors.ts';
import { UsageCounter } from '../../src/services/usage-counter.ts';
import { startUsageFlusher } from '../../src/services/usage-flusher.ts';
import type { Db } from '../../src/store/database.ts';
import { findLastUses, findUseHours } from '../../src/store/usage-store.ts';
import { countingDb } from '../support/counting-db.ts';
import { createTestKey, rotateTestKey } from '../support/fixtures.ts';
import { openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { testServices } from '../support/test-services.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database.close());

/** A handle whose statements fail while `down`, like a database server that went away. */
function failableDb(db: Db) {
  const state = { down: false };
  const proxy = new Proxy(db, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (prop !== 'execute' || typeof value !== 'function') return value;
      return (...args: unknown[]) =>
        state.down
          ? Promise.reject(
              Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
            )
          : value.apply(target, args);
    },
  });
  return { db: proxy, state };
}

function logLines() {
  const lines: { level: number; msg: string; entries?: number }[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, lines };
}

/** `count` real secrets (two per key: the current one and one in grace). */
async function secretIds(count: number): Promise<string[]> {
  const services = testServices(database);
  const ids: string[] = [];
  while (ids.length < count) {
    const created = await createTestKey(services);
    const rotation = await rotateTestKey(services, { id: created.key.id }, '24h');
    ids.push(rotation.oldSecret.id, rotation.newSecret.id);
  }
  return ids.slice(0, count);
}

const T = Date.parse('2026-05-04T09:15:00Z');
const HOUR_START = new Date('2026-05-04T09:00:00Z');
/** Long enough that the cadence never fires during a test that drives flushes by hand. */
const NEVER = 3_600_000;

async function usesOf(ids: string[]): Promise<number[]> {
  const rows = await findUseHours(database.db, ids, HOUR_START);
  return ids.map((id) => rows.filter((r) => r.secretId === id).reduce((sum, r) => sum + r.uses, 0));
}

describe('usage flusher', () => {
  it('writes every secret counted in an interval with one statement', async () => {
    const ids = await secretIds(10);
    const counter = new UsageCounter();
    const counting = countingDb(database);
    const flusher = startUsageFlusher({
      counter,
      db: counting.db,
      intervalMs: NEVER,
      logger: pino({ level: 'silent' }),
    });
    try {
      const slots = ids.map((id) => counter.slotFor(id));
      slots.forEach((slot, i) => {
        for (let n = 0; n <= i; n++) counter.record(slot, T + n, false);
      });
      await flusher.flush();
      expect(counting.statements()).toBe(1);
      expect(await usesOf(ids)).toEqual(ids.map((_, i) => i + 1));
      // Counts already written are not written again; an idle interval sends nothing at all.
      await flusher.flush();
      expect(counting.statements()).toBe(1);
      counter.record(slots[0]!, T + 100, true);
      await flusher.flush();
      expect(counting.statements()).toBe(2);
      expect((await usesOf(ids))[0]).toBe(2);
    } finally {
      await flusher.stop();
    }
  });

  it('writes on its own every interval', async () => {
    const [id] = await secretIds(1);
    const counter = new UsageCounter();
    const flusher = startUsageFlusher({
      counter,
      db: database.db,
      intervalMs: 50,
      logger: pino({ level: 'silent' }),
    });
    try {
      const slot = counter.slotFor(id!);
      counter.record(slot, T, false);
      await vi.waitFor(async () => expect(await usesOf([id!])).toEqual([1]), { timeout: 5_000 });
      counter.record(slot, T + 1, false);
      counter.record(slot, T + 2, false);
      await vi.waitFor(async () => expect(await usesOf([id!])).toEqual([3]), { timeout: 5_000 });
    } finally {
      await flusher.stop();
    }
  });

  it('stop() writes what is still pending, and nothing is written after it', async () => {
    const ids = await secretIds(2);
    const counter = new UsageCounter();
    const counting = countingDb(database);
    const flusher = startUsageFlusher({
      counter,
      db: counting.db,
      intervalMs: NEVER,
      logger: pino({ level: 'silent' }),
    });
    const slots = ids.map((id) => counter.slotFor(id));
    counter.record(slots[0]!, T, false);
    counter.record(slots[1]!, T + 1, true);
    await flusher.stop();
    expect(counting.statements()).toBe(1);
    expect(await usesOf(ids)).toEqual([1, 1]);
    const last = await findLastUses(database.db, ids);
    expect(last.get(ids[1]!)?.toISOString()).toBe(new Date(T + 1).toISOString());
    await flusher.stop();
    expect(counting.statements()).toBe(1);
  });

  it('keeps the counts through a database outage, says so once, and writes them all once it is back', async () => {
    const [id] = await secretIds(1);
    const counter = new UsageCounter();
    const failable = failableDb(database.db);
    const { logger, lines } = logLines();
    const flusher = startUsageFlusher({ counter, db: failable.db, intervalMs: NEVER, logger });
    try {
      const slot = counter.slotFor(id!);
      failable.state.down = true;
      for (let flush = 0; flush < 5; flush++) {
        counter.record(slot, T + flush, false);
        await flusher.flush();
      }
      expect(await usesOf([id!])).toEqual([0]);
      expect(lines.filter((l) => l.level >= 50).map((l) => l.msg)).toEqual([
        'could not write usage counts: keeping them in memory and trying again at each flush',
      ]);
      failable.state.down = false;
      await flusher.flush();
      expect(await usesOf([id!])).toEqual([5]);
      expect(lines.at(-1)?.msg).toBe('usage counts are being written again');
    } finally {
      await flusher.stop();
    }
  });

  it('never runs two writes at once, however slow the database is', async () => {
    const [id] = await secretIds(1);
    const counter = new UsageCounter();
    let inFlight = 0;
    let mostAtOnce = 0;
    let writes = 0;
    const slow = new Proxy(database.db, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (prop !== 'execute' || typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          inFlight++;
          mostAtOnce = Math.max(mostAtOnce, inFlight);
          try {
            await new Promise((resolve) => setTimeout(resolve, 60));
            return await value.apply(target, args);
          } finally {
            inFlight--;
            writes++;
          }
        };
      },
    });
    const flusher = startUsageFlusher({
      counter,
      db: slow,
      intervalMs: 5,
      logger: pino({ level: 'silent' }),
    });
    const slot = counter.slotFor(id!);
    try {
      // New counts keep arriving while a write is in flight, and flushes are asked for meanwhile.
      const asked: Promise<void>[] = [];
      for (let i = 0; i < 6; i++) {
        counter.record(slot, T + i, false);
        asked.push(flusher.flush());
        await new Promise((resolve) => setTimeout(resolve, 15));
      }
      await Promise.all(asked);
    } finally {
      await flusher.stop();
    }
    expect(writes).toBeGreaterThanOrEqual(2);
    expect(mostAtOnce).toBe(1);
    expect(await usesOf([id!])).toEqual([6]);
  });
});

describe('the app', () => {
  it('writes the counted uses when it closes (SIGTERM closes it)', async () => {
    const [id] = await secretIds(1);
    const rekey = await startRekey(loadConfig({ PORT: '0', REKEY_USAGE_FLUSH: '5m' }), {
      logger: pino({ level: 'silent' }),
      database,
      host: '127.0.0.1',
      localMode: false,
    });
    const slot = rekey.usage.slotFor(id!);
    rekey.usage.record(slot, T, false);
    rekey.usage.record(slot, T + 1, true);
    expect(await usesOf([id!])).toEqual([0]);
    await rekey.close();
    expect(await usesOf([id!])).toEqual([2]);
  });
});

describe('REKEY_USAGE_FLUSH', () => {
  const problem = (value: string) => {
    try {
      loadConfig({ REKEY_USAGE_FLUSH: value });
    } catch (error) {
      if (isAppError(error, 'CONFIG_INVALID')) return error.message;
      throw error;
    }
    throw new Error(`expected REKEY_USAGE_FLUSH=${value} to be refused`);
  };

  it('is 10 seconds unless set, and takes a duration', () => {
    expect(loadConfig({}).REKEY_USAGE_FLUSH).toBe(10_000);
    expect(loadConfig({ REKEY_USAGE_FLUSH: '1m' }).REKEY_USAGE_FLUSH).toBe(60_000);
  });

  it('refuses what is not a duration, or outside 1s … 5m, naming the variable', () => {
    expect(problem('often')).toContain('REKEY_USAGE_FLUSH must be a duration like 30s, 10m or 24h');
    for (const bad of ['500ms', '6m', '1h']) {
      expect(problem(bad)).toContain('REKEY_USAGE_FLUSH must be between 1s and 5m');
    }
  });
});
