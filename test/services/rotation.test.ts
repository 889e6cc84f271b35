import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DELAYS, delayMs } from '../../src/keys/delay.ts';
import { hashToken } from '../../src/keys/hash.ts';
import { rowsOf } from '../../src/store/database.ts';
import { postgresError } from '../../src/store/postgres-error.ts';
import { createTestKey, requestRotation, rotateTestKey } from '../support/fixtures.ts';
import { HOUR } from '../support/manual-clock.ts';
import { openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { cliActor, slackActor, testServices, uniqueName } from '../support/test-services.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database.close());

/**
 * What the database refused with: the driver's error under Drizzle's wrapper. `where` names the
 * PL/pgSQL function of the trigger that raised it; `postgresError` reads the index that refused it.
 */
async function refusal(work: Promise<unknown>) {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  let current = error as { code?: unknown; cause?: unknown } | undefined;
  while (current && typeof current.code !== 'string') current = current.cause as typeof current;
  return (current ?? { error }) as { code?: string; where?: string };
}

let seq = 0;
const requestId = () => `test-${Date.now()}-${seq++}`;

describe('rotating a key', () => {
  it.each(DELAYS)('with delay %s gives the old key now + delay and a new active key', async (delay) => {
    const services = testServices(database);
    const { key, token: oldToken } = await createTestKey(services);
    const now = services.clock.now();
    const result = await services.rotateKey({
      key: { name: key.name },
      delay,
      actor: cliActor,
      acknowledged: true,
      requestId: requestId(),
    });
    if (result.status !== 'rotated') throw new Error('expected a rotation');
    const expected = new Date(now.getTime() + delayMs(delay));
    expect(result.oldSecret.expiresAt).toEqual(expected);
    expect(await services.verifyKey(result.token)).toMatchObject({
      valid: true,
      status: 'active',
      expiresAt: null,
    });
    expect(await services.verifyKey(oldToken)).toEqual(
      delay === 'now'
        ? { valid: false, code: 'EXPIRED' }
        : expect.objectContaining({ valid: true, status: 'expiring', expiresAt: expected.toISOString() }),
    );
  });

  it('rotate 72h, then rotate 1h: the first old key still ends at 72h', async () => {
    const services = testServices(database);
    const { key, token: first } = await createTestKey(services);
    const start = services.clock.now();
    const r1 = await requestRotation(services, { name: key.name }, '72h');
    services.clock.advance(HOUR);
    const r2 = await requestRotation(services, { name: key.name }, '1h');
    if (r1.status !== 'rotated' || r2.status !== 'rotated') throw new Error('expected rotations');
    const firstExpiry = new Date(start.getTime() + 72 * HOUR).toISOString();
    expect(await services.verifyKey(first)).toMatchObject({ status: 'expiring', expiresAt: firstExpiry });
    expect(await services.verifyKey(r1.token)).toMatchObject({
      status: 'expiring',
      expiresAt: new Date(start.getTime() + 2 * HOUR).toISOString(),
    });
    const shown = await services.showKey({ name: key.name });
    expect(shown.inGrace.map((s) => s.expiresAt?.toISOString())).toEqual([
      new Date(start.getTime() + 2 * HOUR).toISOString(),
      firstExpiry,
    ]);
  });

  it('keeps name, products, maintainers and channel, and records last_rotated_at', async () => {
    const services = testServices(database);
    const { key } = await createTestKey(services, {
      products: ['a', 'b'],
      maintainers: ['UAAA', 'UBBB'],
      alertChannel: 'CXYZ',
    });
    services.clock.advance(5 * HOUR);
    await requestRotation(services, { name: key.name }, '24h');
    const after = await services.showKey({ name: key.name });
    expect(after).toMatchObject({
      id: key.id,
      name: key.name,
      products: ['a', 'b'],
      maintainers: ['UAAA', 'UBBB'],
      alertChannel: 'CXYZ',
      createdAt: key.createdAt,
      lastRotatedAt: services.clock.now(),
    });
  });

  it('changes no other key', async () => {
    const services = testServices(database);
    const a = await createTestKey(services);
    const b = await createTestKey(services);
    const before = await services.showKey({ name: b.key.name });
    await requestRotation(services, { name: a.key.name }, 'now');
    expect(await services.showKey({ name: b.key.name })).toEqual(before);
    expect(await services.verifyKey(b.token)).toMatchObject({ valid: true, status: 'active' });
  });

  it('the same request id twice rotates once and reveals nothing the second time', async () => {
    const services = testServices(database);
    const { key } = await createTestKey(services);
    const id = requestId();
    const input = {
      key: { name: key.name },
      delay: '1h' as const,
      actor: cliActor,
      acknowledged: true,
      requestId: id,
    };
    const first = await services.rotateKey(input);
    const second = await services.rotateKey(input);
    expect(first.status).toBe('rotated');
    expect(second).toEqual({ status: 'duplicate', keyName: key.name });
    expect('token' in second).toBe(false);
    const audit = await services.keyAudit({ name: key.name });
    expect(audit.events.filter((e) => e.action === 'rotate')).toHaveLength(1);
    expect((await services.showKey({ name: key.name })).inGrace).toHaveLength(1);
  });

  it('writes an audit row per rotation and per end-grace, in order', async () => {
    const services = testServices(database);
    const { key } = await createTestKey(services);
    await requestRotation(services, { name: key.name }, '3h', { actor: slackActor('UMAINT1') });
    await requestRotation(services, { name: key.name }, '48h');
    await services.endGrace({ key: { name: key.name }, actor: slackActor('UMAINT2'), acknowledged: true });
    const { events } = await services.keyAudit({ name: key.name });
    expect(events.map((e) => [e.action, e.actor, e.source, e.delay])).toEqual([
      ['create', 'cli:test', 'cli', null],
      ['rotate', 'UMAINT1', 'slack', '3h'],
      ['rotate', 'cli:test', 'cli', '48h'],
      ['end_grace', 'UMAINT2', 'slack', null],
    ]);
    expect(events[1]!.oldSecretDisplay).toMatch(/^rk_live_.{4}….{4}$/);
  });

  it('end grace stops every old key at once and leaves the current one working', async () => {
    const services = testServices(database);
    const { key, token: first } = await createTestKey(services);
    const r1 = await requestRotation(services, { name: key.name }, '24h');
    const r2 = await requestRotation(services, { name: key.name }, '72h');
    if (r1.status !== 'rotated' || r2.status !== 'rotated') throw new Error('expected rotations');
    await services.endGrace({ key: { name: key.name }, actor: cliActor, acknowledged: true });
    expect(await services.verifyKey(first)).toEqual({ valid: false, code: 'EXPIRED' });
    expect(await services.verifyKey(r1.token)).toEqual({ valid: false, code: 'EXPIRED' });
    expect(await services.verifyKey(r2.token)).toMatchObject({ valid: true, status: 'active' });
    await expect(
      services.endGrace({ key: { name: key.name }, actor: cliActor, acknowledged: true }),
    ).rejects.toMatchObject({
      code: 'NOT_IN_GRACE',
    });
  });

  it('refuses without the acknowledgement, and changes nothing', async () => {
    const services = testServices(database);
    const { key, token } = await createTestKey(services);
    await expect(
      services.rotateKey({
        key: { name: key.name },
        delay: '1h',
        actor: cliActor,
        acknowledged: false,
        requestId: requestId(),
      }),
    ).rejects.toMatchObject({ code: 'ACK_REQUIRED' });
    expect(await services.verifyKey(token)).toMatchObject({ status: 'active' });
  });

  it('refuses a Slack user who neither maintains the key nor is an admin', async () => {
    const services = testServices(database, { admins: ['UADMIN'] });
    const { key, token } = await createTestKey(services, { maintainers: ['UOWNER'] });
    await expect(
      requestRotation(services, { name: key.name }, '1h', { actor: slackActor('USTRANGER') }),
    ).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(await services.verifyKey(token)).toMatchObject({ status: 'active' });
    const byAdmin = await requestRotation(services, { name: key.name }, '1h', {
      actor: slackActor('UADMIN'),
    });
    expect(byAdmin.status).toBe('rotated');
  });

  it('cannot rotate a deleted key, which no longer verifies', async () => {
    const services = testServices(database);
    const { key, token } = await createTestKey(services);
    await services.deleteKey({ key: { name: key.name }, actor: cliActor });
    await expect(requestRotation(services, { name: key.name }, '1h')).rejects.toMatchObject({
      code: 'KEY_DELETED',
    });
    await expect(requestRotation(services, { id: key.id }, '1h')).rejects.toMatchObject({
      code: 'KEY_DELETED',
    });
    expect(await services.verifyKey(token)).toEqual({ valid: false, code: 'NOT_FOUND' });
  });

  it('treats an id that is not a key id as an unknown key, not a database failure', async () => {
    const services = testServices(database);
    for (const id of ['not-a-uuid', '', "1' or '1'='1"]) {
      await expect(requestRotation(services, { id }, '1h')).rejects.toMatchObject({ code: 'KEY_NOT_FOUND' });
      await expect(services.showKey({ id })).rejects.toMatchObject({ code: 'KEY_NOT_FOUND' });
    }
  });

  it('says which key is unknown', async () => {
    const services = testServices(database);
    await expect(requestRotation(services, { name: uniqueName('nope') }, '1h')).rejects.toMatchObject({
      code: 'KEY_NOT_FOUND',
    });
  });
});

describe('the database itself', () => {
  it('refuses to reinstate an old key, even by a direct UPDATE', async () => {
    const services = testServices(database);
    const { key, token } = await createTestKey(services);
    await requestRotation(services, { name: key.name }, 'now');
    const hash = hashToken(token);
    for (const update of [
      sql`update secrets set expires_at = null where hash = ${hash}`,
      sql`update secrets set expires_at = expires_at + interval '1 hour' where hash = ${hash}`,
    ]) {
      expect(await refusal(database.db.execute(update))).toMatchObject({
        code: '23514',
        where: expect.stringContaining('rekey_secrets_never_reinstated'),
      });
    }
    expect(await services.verifyKey(token)).toEqual({ valid: false, code: 'EXPIRED' });
  });

  it('refuses to bring a deleted key back, even by a direct UPDATE', async () => {
    const services = testServices(database);
    const { key, token } = await createTestKey(services);
    await services.deleteKey({ key: { name: key.name }, actor: cliActor });
    expect(
      await refusal(database.db.execute(sql`update keys set deleted_at = null where id = ${key.id}`)),
    ).toMatchObject({ code: '23514', where: expect.stringContaining('rekey_keys_stay_deleted') });
    expect(await services.verifyKey(token)).toEqual({ valid: false, code: 'NOT_FOUND' });
    await expect(services.deleteKey({ key: { id: key.id }, actor: cliActor })).rejects.toMatchObject({
      code: 'KEY_DELETED',
    });
  });

  it('allows an expiry to move earlier (end grace is not an undo)', async () => {
    const services = testServices(database);
    const { key, token } = await createTestKey(services);
    const rotation = await rotateTestKey(services, { name: key.name }, '24h');
    await database.db.execute(
      sql`update secrets set expires_at = expires_at - interval '1 hour' where hash = ${hashToken(token)}`,
    );
    const earlier = new Date(rotation.oldSecret.expiresAt!.getTime() - HOUR);
    expect(await services.verifyKey(token)).toMatchObject({
      valid: true,
      status: 'expiring',
      expiresAt: earlier.toISOString(),
    });
  });

  it('refuses a second current secret for one key', async () => {
    const services = testServices(database);
    const { key } = await createTestKey(services);
    const insert = database.db.execute(
      sql`insert into secrets (key_id, hash, display, created_at) values (${key.id}, ${'x'.repeat(64)}, 'x', now())`,
    );
    expect(postgresError(await refusal(insert))).toEqual({
      code: '23505',
      constraint: 'secrets_one_current_per_key_uq',
    });
  });

  it('keeps the audit trail append-only', async () => {
    const services = testServices(database);
    const { key } = await createTestKey(services);
    for (const change of [
      sql`delete from audit_events where key_id = ${key.id}`,
      sql`update audit_events set actor = 'someone' where key_id = ${key.id}`,
    ]) {
      expect(await refusal(database.db.execute(change))).toMatchObject({
        code: '23514',
        where: expect.stringContaining('rekey_audit_append_only'),
      });
    }
    const rows = rowsOf<{ n: number | string }>(
      await database.db.execute(sql`select count(*) as n from audit_events where key_id = ${key.id}`),
    );
    expect(Number(rows[0]!.n)).toBe(1);
  });
});
