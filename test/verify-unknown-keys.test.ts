import { afterAll, beforeAll, expect, it } from 'vitest';
import { generateToken } from '../src/keys/token.ts';
import { createLogger } from '../src/logger.ts';
import { createMetrics } from '../src/metrics.ts';
import { startVerifyPath } from '../src/verify-wiring.ts';
import { countingDb } from './support/counting-db.ts';
import { createTestKey } from './support/fixtures.ts';
import { openTestDatabase, type TestDatabase } from './support/test-database.ts';
import { testServices } from './support/test-services.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database.close());

const FLOOD = 20_000;
/** Requests in flight at once, as from a busy gateway: misses of one event-loop turn share a query. */
const CONCURRENCY = 50;

it('answers a flood of 20 000 made-up keys with at most 200 database statements, and every real key as before', async () => {
  const services = testServices(database);
  const real = await Promise.all(Array.from({ length: 10 }, () => createTestKey(services)));
  const counting = countingDb(database);
  const metrics = createMetrics();
  const path = await startVerifyPath({
    config: { REKEY_CACHE_SIZE: 1_000, REKEY_CACHE_TTL: 30_000 },
    database: { ...database, db: counting.db },
    changes: services.changes,
    clock: services.clock,
    metrics,
    logger: createLogger('silent'),
  });
  try {
    await path.liveSecrets.settled();
    expect(path.liveSecrets.trusted).toBe(true);
    const before = counting.statements();
    const started = performance.now();

    // The real keys, never asked for before, are spread through the flood.
    const asks = Array.from({ length: FLOOD }, () => generateToken('rk_live').token);
    for (const [i, { token }] of real.entries()) asks.splice((i + 1) * 1_500, 0, token);
    const answers = new Array<unknown>(asks.length);
    let next = 0;
    // Each stream sends its next key in a later event-loop turn, as requests arriving over a socket.
    const stream = async () => {
      while (next < asks.length) {
        const at = next++;
        answers[at] = await path.cache.verify(asks[at]);
        await new Promise((r) => setImmediate(r));
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, stream));

    const statements = counting.statements() - before;
    const seconds = (performance.now() - started) / 1000;
    console.log(`${asks.length} keys in ${seconds.toFixed(1)} s, ${statements} database statements`);
    expect(statements).toBeLessThanOrEqual(200);
    real.forEach(({ token, key }) => {
      expect(answers[asks.indexOf(token)]).toMatchObject({ valid: true, keyId: key.id });
    });
    const refused = answers.filter((a) => (a as { code?: string }).code === 'NOT_FOUND');
    expect(refused).toHaveLength(FLOOD);
    const text = await metrics.registry.metrics();
    const answeredAlone = Number(/^rekey_verify_filter_answers_total (\d+)$/m.exec(text)?.[1]);
    expect(answeredAlone).toBeGreaterThanOrEqual(FLOOD * 0.99);
  } finally {
    await path.stop();
  }
});
