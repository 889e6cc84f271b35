import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOUR_MS } from '../../src/keys/usage.ts';
import { openPostgres } from '../../src/store/open-postgres.ts';
import {
  addUseCounts,
  dropUseHoursBefore,
  findClientUses,
  findLastUses,
  findUseHours,
  type UseCount,
} from '../../src/store/usage-store.ts';
import { createTestKey, rotateTestKey } from '../support/fixtures.ts';
import { onRealPostgres, openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { testServices } from '../support/test-services.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database.close());

const hour = (iso: string) => new Date(iso);
const count = (secretId: string, h: string, uses: number, extra: Partial<UseCount> = {}): UseCount => ({
  secretId,
  hour: hour(h),
  uses,
  expiredUses: 0,
  firstUsedAt: new Date(hour(h).getTime() + 1_000),
  lastUsedAt: new Date(hour(h).getTime() + 2_000),
  ...extra,
});

async function twoSecrets() {
  const services = testServices(database);
  const created = await createTestKey(services);
  const rotation = await rotateTestKey(services, { id: created.key.id }, '24h');
  return { oldId: rotation.oldSecret.id, newId: rotation.newSecret.id };
}

describe('usage counts in the database', () => {
  it('adds flushes together instead of overwriting them', async () => {
    const { oldId, newId } = await twoSecrets();
    await addUseCounts(database.db, [count(oldId, '2026-03-01T10:00:00Z', 7)]);
    await addUseCounts(database.db, [
      count(oldId, '2026-03-01T10:00:00Z', 5, { expiredUses: 2 }),
      count(newId, '2026-03-01T10:00:00Z', 1),
    ]);
    const rows = await findUseHours(database.db, [oldId, newId], hour('2026-03-01T00:00:00Z'));
    const old = rows.find((r) => r.secretId === oldId)!;
    expect(old.uses).toBe(12);
    expect(old.expiredUses).toBe(2);
    expect(rows.find((r) => r.secretId === newId)!.uses).toBe(1);
  });

  it('keeps the earliest first use and the latest last use of an hour, and last use never goes back', async () => {
    const { oldId } = await twoSecrets();
    const h = '2026-03-01T10:00:00Z';
    await addUseCounts(database.db, [
      count(oldId, h, 1, {
        firstUsedAt: hour('2026-03-01T10:20:00Z'),
        lastUsedAt: hour('2026-03-01T10:50:00Z'),
      }),
    ]);
    await addUseCounts(database.db, [
      count(oldId, h, 1, {
        firstUsedAt: hour('2026-03-01T10:05:00Z'),
        lastUsedAt: hour('2026-03-01T10:30:00Z'),
      }),
    ]);
    const [row] = await findUseHours(database.db, [oldId], hour(h));
    expect(row!.firstUsedAt.toISOString()).toBe('2026-03-01T10:05:00.000Z');
    expect(row!.lastUsedAt.toISOString()).toBe('2026-03-01T10:50:00.000Z');
    expect((await findLastUses(database.db, [oldId])).get(oldId)?.toISOString()).toBe(
      '2026-03-01T10:50:00.000Z',
    );
  });

  it('merges repeated (secret, hour) entries of one flush instead of failing the statement', async () => {
    const { oldId } = await twoSecrets();
    const h = '2026-03-01T11:00:00Z';
    await addUseCounts(database.db, [count(oldId, h, 3), count(oldId, h, 4)]);
    const [row] = await findUseHours(database.db, [oldId], hour(h));
    expect(row!.uses).toBe(7);
  });

  it('drops hourly rows before the cutoff and keeps the last use', async () => {
    const { oldId } = await twoSecrets();
    const cutoff = hour('2026-04-01T00:00:00Z');
    await addUseCounts(database.db, [
      count(oldId, new Date(cutoff.getTime() - HOUR_MS).toISOString(), 2),
      count(oldId, cutoff.toISOString(), 3),
    ]);
    const dropped = await dropUseHoursBefore(database.db, cutoff);
    expect(dropped).toBeGreaterThanOrEqual(1);
    const rows = await findUseHours(database.db, [oldId], new Date(0));
    expect(rows.map((r) => r.uses)).toEqual([3]);
    expect((await findLastUses(database.db, [oldId])).has(oldId)).toBe(true);
  });

  it('still knows the exact last use of a secret once retention has dropped every hour it was used in', async () => {
    const { oldId, newId } = await twoSecrets();
    const h = '2026-02-01T10:00:00Z';
    await addUseCounts(database.db, [
      count(oldId, h, 2, {
        firstUsedAt: hour('2026-02-01T10:01:00Z'),
        lastUsedAt: hour('2026-02-01T10:41:07.123Z'),
      }),
      count(oldId, '2026-02-01T08:00:00Z', 1, {
        firstUsedAt: hour('2026-02-01T08:01:00Z'),
        lastUsedAt: hour('2026-02-01T08:02:00Z'),
      }),
    ]);
    expect(await dropUseHoursBefore(database.db, hour('2026-02-02T00:00:00Z'))).toBeGreaterThanOrEqual(2);
    expect(await findUseHours(database.db, [oldId], new Date(0))).toEqual([]);
    const last = await findLastUses(database.db, [oldId, newId]);
    expect(last.get(oldId)?.toISOString()).toBe('2026-02-01T10:41:07.123Z');
    expect(last.has(newId)).toBe(false);
    // A later use moves it forward again.
    await addUseCounts(database.db, [count(oldId, '2026-02-03T09:00:00Z', 1)]);
    expect((await findLastUses(database.db, [oldId])).get(oldId)?.toISOString()).toBe(
      '2026-02-03T09:00:02.000Z',
    );
  });
});

describe('clients in the database', () => {
  const client = (ip: string | null, userAgent: string | null, uses: number, at: string) => ({
    ip,
    userAgent,
    uses,
    lastUsedAt: hour(at),
  });

  it('adds each client’s calls up across flushes and hours, most calls first, unknown client included', async () => {
    const { oldId, newId } = await twoSecrets();
    await addUseCounts(database.db, [
      count(oldId, '2026-03-01T10:00:00Z', 8, {
        clients: [
          client('10.0.3.7', 'python-requests/2.31', 5, '2026-03-01T10:10:00Z'),
          client(null, null, 3, '2026-03-01T10:20:00Z'),
        ],
      }),
    ]);
    await addUseCounts(database.db, [
      count(oldId, '2026-03-01T11:00:00Z', 6, {
        clients: [
          client('10.0.3.7', 'python-requests/2.31', 4, '2026-03-01T11:05:00Z'),
          client('2001:db8::1', 'Go-http-client/1.1', 2, '2026-03-01T11:30:00Z'),
        ],
      }),
      count(newId, '2026-03-01T11:00:00Z', 1, {
        clients: [client('10.0.9.9', 'curl/8', 1, '2026-03-01T11:00:01Z')],
      }),
    ]);
    // Another flush (or replica) in the same hour adds to what is there.
    await addUseCounts(database.db, [
      count(oldId, '2026-03-01T11:00:00Z', 1, {
        clients: [client('10.0.3.7', 'python-requests/2.31', 1, '2026-03-01T11:02:00Z')],
      }),
    ]);
    const rows = await findClientUses(database.db, [oldId], hour('2026-03-01T10:30:00Z'));
    expect(rows).toEqual([
      {
        secretId: oldId,
        ip: '10.0.3.7',
        userAgent: 'python-requests/2.31',
        uses: 10,
        lastUsedAt: hour('2026-03-01T11:05:00Z'),
      },
      { secretId: oldId, ip: null, userAgent: null, uses: 3, lastUsedAt: hour('2026-03-01T10:20:00Z') },
      {
        secretId: oldId,
        ip: '2001:db8::1',
        userAgent: 'Go-http-client/1.1',
        uses: 2,
        lastUsedAt: hour('2026-03-01T11:30:00Z'),
      },
    ]);
    // From a later hour on, only that hour's.
    expect(
      (await findClientUses(database.db, [oldId], hour('2026-03-01T11:00:00Z'))).map((r) => r.uses),
    ).toEqual([5, 2]);
  });

  it('stores any user agent intact (quotes, commas, braces, backslashes), but never a key string in it', async () => {
    const { oldId } = await twoSecrets();
    const odd = 'Mozilla/5.0 ("x", {y}) \\ back\\slash, “quoted” NULL ü';
    const token = `rk_live_${'A1b2C3d4'.repeat(4)}000000`;
    await addUseCounts(database.db, [
      count(oldId, '2026-03-01T10:00:00Z', 3, {
        clients: [
          client('10.0.3.7', odd, 1, '2026-03-01T10:01:00Z'),
          client('10.0.3.8', `my-script key=${token} v1`, 1, '2026-03-01T10:02:00Z'),
          client('10.0.3.9', 'NULL', 1, '2026-03-01T10:03:00Z'),
        ],
      }),
    ]);
    const agents = (await findClientUses(database.db, [oldId], hour('2026-03-01T10:00:00Z'))).map(
      (r) => r.userAgent,
    );
    expect(agents.sort()).toEqual([odd, 'NULL', 'my-script key=[key] v1'].sort());
  });

  it('drops clients’ hours with the hourly counts, after the retention', async () => {
    const { oldId } = await twoSecrets();
    await addUseCounts(database.db, [
      count(oldId, '2026-01-01T10:00:00Z', 2, {
        clients: [client('10.0.3.7', null, 2, '2026-01-01T10:00:05Z')],
      }),
      count(oldId, '2026-02-15T10:00:00Z', 1, {
        clients: [client('10.0.3.8', null, 1, '2026-02-15T10:00:05Z')],
      }),
    ]);
    await dropUseHoursBefore(database.db, hour('2026-02-01T00:00:00Z'));
    const rows = await findClientUses(database.db, [oldId], hour('2025-12-01T00:00:00Z'));
    expect(rows.map((r) => r.ip)).toEqual(['10.0.3.8']);
  });
});

describe.runIf(onRealPostgres)('usage flushes from several replicas on PostgreSQL', () => {
  it('adds up exactly when replicas flush the same secrets at the same moment', async () => {
    const { oldId, newId } = await twoSecrets();
    const replicas = await Promise.all([1, 2, 3, 4].map(() => openPostgres(database.url!, { max: 1 })));
    try {
      const h = '2026-03-02T10:00:00Z';
      // Each replica flushes the two secrets (and their clients) in its own order: the statement sorts
      // them, so no deadlock.
      const a = { ip: '10.0.3.7', userAgent: 'python-requests/2.31', uses: 1, lastUsedAt: hour(h) };
      const b = { ip: '10.0.3.8', userAgent: 'curl/8', uses: 1, lastUsedAt: hour(h) };
      await Promise.all(
        replicas.flatMap((replica, i) =>
          Array.from({ length: 10 }, () =>
            addUseCounts(
              replica.db,
              i % 2
                ? [count(oldId, h, 1, { clients: [a] }), count(newId, h, 2, { clients: [b, { ...a }] })]
                : [count(newId, h, 2, { clients: [{ ...a }, b] }), count(oldId, h, 1, { clients: [a] })],
            ),
          ),
        ),
      );
      const rows = await findUseHours(database.db, [oldId, newId], hour(h));
      expect(rows.find((r) => r.secretId === oldId)!.uses).toBe(40);
      expect(rows.find((r) => r.secretId === newId)!.uses).toBe(80);
      const clients = await findClientUses(database.db, [oldId, newId], hour(h));
      expect(clients.map((c) => [c.secretId === oldId ? 'old' : 'new', c.ip, c.uses]).sort()).toEqual(
        [
          ['new', '10.0.3.7', 40],
          ['new', '10.0.3.8', 40],
          ['old', '10.0.3.7', 40],
        ].sort(),
      );
    } finally {
      await Promise.all(replicas.map((replica) => replica.close()));
    }
  });
});
