import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOUR, manualClock } from '../support/manual-clock.ts';
import { cliOn } from '../support/run-cli-in-process.ts';
import { openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { testServices, uniqueName } from '../support/test-services.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database.close());

const DAY = 24 * HOUR;

function setup() {
  const clock = manualClock('2026-03-01T12:00:00.000Z');
  const services = testServices(database, { clock });
  return { clock, services, ...cliOn(services) };
}

describe('rekey keys … --rotate-every: a rotation policy per key', () => {
  it('create --rotate-every 90d makes the key due 90 days after its creation; list and show say so', async () => {
    const { clock, cli, json } = setup();
    const name = uniqueName('pol');
    const created = await json('keys', 'create', '--name', name, '--rotate-every', '90d');
    const due = new Date(clock.now().getTime() + 90 * DAY).toISOString();
    expect(created.key).toMatchObject({ rotateEvery: '90d', rotationDueAt: due, overdue: false });

    const listed = (await json('keys', 'list')).find((k: { name: string }) => k.name === name);
    expect(listed).toMatchObject({ rotateEvery: '90d', rotationDueAt: due, overdue: false });
    expect(await json('keys', 'show', name)).toMatchObject({ rotateEvery: '90d', rotationDueAt: due });
    expect((await cli('keys', 'show', name)).out).toContain(`every 90d; due ${due} (in 90 days)`);
  });

  it('a key without a policy has rotateEvery null, rotationDueAt null and is never overdue', async () => {
    const { clock, json } = setup();
    const name = uniqueName('nopol');
    await json('keys', 'create', '--name', name);
    clock.advance(1000 * DAY);
    expect(await json('keys', 'show', name)).toMatchObject({
      rotateEvery: null,
      rotationDueAt: null,
      overdue: false,
    });
  });

  it('the due date counts from the last rotation once there is one, and overdue turns true at it', async () => {
    const { clock, json } = setup();
    const name = uniqueName('rot');
    await json('keys', 'create', '--name', name, '--rotate-every', '30d');
    clock.advance(10 * DAY);
    await json('keys', 'rotate', name, '--delay', 'now', '--yes');
    const due = new Date(clock.now().getTime() + 30 * DAY);
    expect(await json('keys', 'show', name)).toMatchObject({
      rotationDueAt: due.toISOString(),
      overdue: false,
    });
    clock.set(new Date(due.getTime() - 1));
    expect((await json('keys', 'show', name)).overdue).toBe(false);
    clock.set(due);
    expect((await json('keys', 'show', name)).overdue).toBe(true);
    clock.advance(3 * DAY);
    const listed = (await json('keys', 'list')).find((k: { name: string }) => k.name === name);
    expect(listed.overdue).toBe(true);
  });

  it('policy N --rotate-every 90d|none changes it, answers with the new due date, and audits before and after', async () => {
    const { clock, cli, json } = setup();
    const name = uniqueName('chg');
    const createdAt = clock.now().getTime();
    await json('keys', 'create', '--name', name);
    clock.advance(DAY);

    expect(await json('keys', 'policy', name, '--rotate-every', '90d')).toEqual({
      name,
      status: 'changed',
      before: null,
      rotateEvery: '90d',
      rotationDueAt: new Date(createdAt + 90 * DAY).toISOString(),
      overdue: false,
    });
    expect(await json('keys', 'policy', name, '--rotate-every', '90d')).toMatchObject({
      status: 'unchanged',
    });
    const removed = await cli('keys', 'policy', name, '--rotate-every', 'none');
    expect(removed.code).toBe(0);
    expect(removed.out).toContain(`Changed the rotation policy of "${name}": no rotation policy.`);
    expect(await json('keys', 'show', name)).toMatchObject({ rotateEvery: null, rotationDueAt: null });

    const audit = await json('keys', 'audit', name);
    const changes = audit.events.filter((e: { action: string }) => e.action === 'policy');
    expect(changes.map((e: { details: unknown }) => e.details)).toEqual([
      { before: null, after: '90d' },
      { before: '90d', after: null },
    ]);
    expect((await cli('keys', 'audit', name)).out).toContain('rotation policy 90d → none');
  });

  it.each(['0d', '800d', '3w', '731d', '90'])(
    'refuses --rotate-every %s with the accepted range and changes nothing',
    async (bad) => {
      const { cli, json } = setup();
      const name = uniqueName('bad');
      await json('keys', 'create', '--name', name, '--rotate-every', '30d');

      const policy = await cli('keys', 'policy', name, '--rotate-every', bad);
      expect(policy.code).not.toBe(0);
      expect(policy.err).toContain('from 1d to 730d');
      expect(await json('keys', 'show', name)).toMatchObject({ rotateEvery: '30d' });

      const other = uniqueName('bad');
      const created = await cli('keys', 'create', '--name', other, '--rotate-every', bad, '--json');
      expect(created.code).not.toBe(0);
      expect(JSON.parse(created.err).error).toMatchObject({ code: 'INVALID_INPUT' });
      expect(JSON.parse(created.err).error.message).toContain('from 1d to 730d');
      expect((await cli('keys', 'show', other)).code).not.toBe(0);
      expect((await json('keys', 'audit', name)).events.map((e: { action: string }) => e.action)).toEqual([
        'create',
      ]);
    },
  );

  it('policy without --rotate-every, or for a key that does not exist, is refused', async () => {
    const { cli, json } = setup();
    const name = uniqueName('miss');
    await json('keys', 'create', '--name', name);
    const missing = await cli('keys', 'policy', name);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('--rotate-every');
    const unknown = await cli('keys', 'policy', uniqueName('nope'), '--rotate-every', '30d');
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain('No key named');
  });
});
