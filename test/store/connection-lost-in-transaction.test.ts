import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestKey, requestRotation, rotateTestKey } from '../support/fixtures.ts';
import { onRealPostgres, openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { testServices } from '../support/test-services.ts';

const nextTurns = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
};

// A failover, a DBA's pg_terminate_backend or idle_in_transaction_session_timeout ends a connection
// while a transaction is open on it. Only a real server does that to a pooled connection.
describe.runIf(onRealPostgres)('a connection the server ends in the middle of a transaction', () => {
  let database: TestDatabase;
  let other: postgres.Sql;
  beforeAll(async () => {
    database = await openTestDatabase({ max: 3 });
    other = postgres(database.url!, { max: 2, onnotice: () => {} });
  });
  afterAll(async () => {
    await other?.end({ timeout: 5 });
    await database?.close();
  });

  it('fails that rotation as a database outage, changes nothing, and the process and its pool carry on', async () => {
    const services = testServices(database);
    const { key } = await createTestKey(services);
    // Another session holds the key's row, so the rotation waits inside its transaction…
    let releaseRow!: () => void;
    const rowHeld = new Promise<void>((resolve) => {
      releaseRow = resolve;
    });
    let rowLocked!: () => void;
    const locked = new Promise<void>((resolve) => {
      rowLocked = resolve;
    });
    const holder = other.begin(async (tx) => {
      await tx`select 1 from keys where id = ${key.id} for update`;
      rowLocked();
      await rowHeld;
    });
    await locked;
    const rotation = requestRotation(services, { name: key.name }, '24h').then(
      () => 'rotated',
      (error: { code?: string }) => error.code,
    );
    // …where the server ends its connection.
    let waiting: number | undefined;
    while (waiting === undefined) {
      const rows = await other<{ pid: number }[]>`
        select pid from pg_stat_activity
        where datname = current_database() and wait_event_type = 'Lock' and pid <> pg_backend_pid()`;
      waiting = rows[0]?.pid;
      if (waiting === undefined) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await other`select pg_terminate_backend(${waiting})`;

    expect(await rotation).toBe('DATABASE_UNAVAILABLE');
    releaseRow();
    await holder;
    // The driver's failure, if any, surfaces a few turns later as an uncaught exception (vitest fails
    // the run on it); give it those turns before looking at what is left.
    await nextTurns(5);

    const shown = await services.showKey({ name: key.name });
    expect(shown.inGrace).toHaveLength(0);
    // More transactions than the pool has connections, so the ended one is reconnected. postgres.js
    // hands the ended session's error to the first query of the reconnected one (its own leftover, not
    // rekey's): that one request fails as a database outage, with nothing changed; the rest rotate.
    const attempts = await Promise.all(
      Array.from({ length: 6 }, () =>
        requestRotation(services, { name: key.name }, '24h').then(
          (rotation) => rotation.status,
          (error: { code?: string }) => error.code,
        ),
      ),
    );
    expect(attempts.filter((status) => status !== 'rotated').every((s) => s === 'DATABASE_UNAVAILABLE')).toBe(
      true,
    );
    expect(attempts.filter((status) => status === 'rotated').length).toBeGreaterThanOrEqual(5);
    const rotations = await Promise.all(
      Array.from({ length: 6 }, () => rotateTestKey(services, { name: key.name }, '24h')),
    );
    expect(rotations).toHaveLength(6);
    const rotatedBefore = attempts.filter((status) => status === 'rotated').length;
    expect((await services.showKey({ name: key.name })).inGrace).toHaveLength(rotatedBefore + 6);
  });
});
