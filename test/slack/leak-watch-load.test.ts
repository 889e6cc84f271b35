import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childScript } from '../support/child-scripts.ts';
import { countingDb } from '../support/counting-db.ts';
import { createTestKey, typoOf } from '../support/fixtures.ts';
import { onRealPostgres, openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { SIGNING_SECRET, type SlackHarness, startSlackHarness } from './harness.ts';

// A load test from another process (its sender is the subject, with 2 cores shared with the rest of
// the suite): it runs on the real PostgreSQL (CI runs the suite there too), where the database is out of
// this process as in production.
describe.runIf(onRealPostgres)('a busy channel', () => {
  let database: TestDatabase;
  let counting: ReturnType<typeof countingDb>;
  let h: SlackHarness;
  beforeAll(async () => {
    database = await openTestDatabase();
    counting = countingDb(database);
    h = await startSlackHarness(database, { db: counting.db });
  });
  afterAll(async () => {
    await h?.close();
    await database?.close();
  });

  const EVENTS = 10_000;
  const BURST = 200;
  /** Slack gives up on a delivery not acknowledged within 3 s (and retries it). */
  const SLACK_ACK_MS = 3_000;

  it(`acknowledges ${EVENTS} message events, ${BURST} at once, within Slack’s 3 s, with no database query when none holds a valid key`, async () => {
    // A real key exists: some messages carry a copy of it with one character changed.
    const { token } = await createTestKey(h.services);
    await h.idle();
    const statements = counting.statements();
    const calls = h.fake.calls.length;

    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        childScript('deliver-message-bursts'),
        h.url,
        SIGNING_SECRET,
        String(EVENTS),
        String(BURST),
        typoOf(token),
      ],
      { timeout: 240_000 },
    );
    await h.idle();

    const { statuses, slowestMs } = JSON.parse(stdout) as {
      statuses: Record<string, number>;
      slowestMs: number;
    };
    expect(statuses).toEqual({ 200: EVENTS });
    expect(slowestMs, `slowest acknowledgement: ${Math.round(slowestMs)} ms`).toBeLessThan(SLACK_ACK_MS);
    expect(counting.statements() - statements).toBe(0);
    expect(h.fake.calls.length - calls).toBe(0);
  }, 300_000);
});
