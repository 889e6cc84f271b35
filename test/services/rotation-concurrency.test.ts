import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RotationResult } from '../../src/services/types.ts';
import { createTestKey, rotateTestKey } from '../support/fixtures.ts';
import { onRealPostgres, openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { cliActor, slackActor, testServices } from '../support/test-services.ts';

// Row locks only mean something with several connections: this runs on the real PostgreSQL
// (TEST_DATABASE_URL, set by .ci/run). PGlite serialises everything and would prove nothing.
describe.runIf(onRealPostgres)('concurrent rotations on PostgreSQL', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await openTestDatabase({ max: 25 });
  });
  afterAll(() => database?.close());

  it('20 rotations of one key at once leave one current secret, 20 audit rows, and every returned key valid', async () => {
    const services = testServices(database);
    const { key } = await createTestKey(services);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        services.rotateKey({
          key: { name: key.name },
          delay: '24h',
          actor: cliActor,
          acknowledged: true,
          requestId: `c-${key.id}-${i}`,
        }),
      ),
    );
    const rotated = results.filter(
      (r): r is Extract<RotationResult, { status: 'rotated' }> => r.status === 'rotated',
    );
    expect(rotated).toHaveLength(20);
    const verdicts = await Promise.all(rotated.map((r) => services.verifyKey(r.token)));
    expect(verdicts.filter((v) => v.valid && v.status === 'active')).toHaveLength(1);
    expect(verdicts.filter((v) => v.valid && v.status === 'expiring')).toHaveLength(19);
    const shown = await services.showKey({ name: key.name });
    expect(shown.current).not.toBeNull();
    expect(shown.inGrace).toHaveLength(20);
    const { events } = await services.keyAudit({ name: key.name });
    expect(events.filter((e) => e.action === 'rotate')).toHaveLength(20);
  });

  it('gives up with KEY_BUSY, changing nothing, when another change holds the key longer than the lock timeout', async () => {
    const services = testServices(database);
    const { key, token } = await createTestKey(services);
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => {
      locked = resolve;
    });
    const holder = database.db.transaction(async (tx) => {
      await tx.execute(sql`select id from keys where id = ${key.id} for update`);
      locked();
      await held;
    });
    await isLocked;
    await expect(
      services.rotateKey({
        key: { id: key.id },
        delay: '1h',
        actor: cliActor,
        acknowledged: true,
        requestId: `busy-${key.id}`,
        lockTimeoutMs: 200,
      }),
    ).rejects.toMatchObject({ code: 'KEY_BUSY' });
    release();
    await holder;
    expect(await services.verifyKey(token)).toMatchObject({ status: 'active' });
    const { events } = await services.keyAudit({ name: key.name });
    expect(events.filter((e) => e.action === 'rotate')).toHaveLength(0);
  });

  it('gives up ending a grace period with KEY_BUSY too, ending nothing, while another change holds the key', async () => {
    const services = testServices(database);
    const { key, token } = await createTestKey(services, { maintainers: ['UBUSY'] });
    const rotation = await rotateTestKey(services, { id: key.id }, '24h');
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => {
      locked = resolve;
    });
    const holder = database.db.transaction(async (tx) => {
      await tx.execute(sql`select id from keys where id = ${key.id} for update`);
      locked();
      await held;
    });
    await isLocked;
    await expect(
      services.endGrace({
        key: { id: key.id },
        actor: slackActor('UBUSY'),
        acknowledged: true,
        seen: { currentSecretId: rotation.newSecret.id, oldSecretIds: [rotation.oldSecret.id] },
        lockTimeoutMs: 200,
      }),
    ).rejects.toMatchObject({ code: 'KEY_BUSY', retryable: true });
    release();
    await holder;
    expect(await services.verifyKey(token)).toMatchObject({ valid: true, status: 'expiring' });
  });

  it('20 rotations with the same request id at once make exactly one rotation', async () => {
    const services = testServices(database);
    const { key } = await createTestKey(services);
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        services.rotateKey({
          key: { name: key.name },
          delay: '1h',
          actor: cliActor,
          acknowledged: true,
          requestId: `same-${key.id}`,
        }),
      ),
    );
    expect(results.filter((r) => r.status === 'rotated')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'duplicate')).toHaveLength(19);
    const { events } = await services.keyAudit({ name: key.name });
    expect(events.filter((e) => e.action === 'rotate')).toHaveLength(1);
    expect((await services.showKey({ name: key.name })).inGrace).toHaveLength(1);
  });
});
