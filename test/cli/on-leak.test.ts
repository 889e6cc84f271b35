import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliInProcess } from '../support/run-cli-in-process.ts';
import { openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { testServices, uniqueName } from '../support/test-services.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database.close());

function setup() {
  const services = testServices(database);
  const cli = (...args: string[]) => runCliInProcess(args, services);
  const json = async (...args: string[]) => {
    const r = await cli(...args, '--json');
    expect(r.code, r.err).toBe(0);
    return JSON.parse(r.out);
  };
  return { cli, json };
}

describe('rekey keys … --on-leak: what rekey does by itself when a working key is reported leaked', () => {
  it('is notify unless told otherwise; create --on-leak sets it; list and show --json give onLeak', async () => {
    const { cli, json } = setup();
    const plain = uniqueName('plain');
    const strict = uniqueName('strict');
    expect((await json('keys', 'create', '--name', plain)).key).toMatchObject({ onLeak: 'notify' });
    expect((await json('keys', 'create', '--name', strict, '--on-leak', 'rotate-1h')).key).toMatchObject({
      onLeak: 'rotate-1h',
    });
    const listed = await json('keys', 'list');
    expect(listed.find((k: { name: string }) => k.name === plain)).toMatchObject({ onLeak: 'notify' });
    expect(listed.find((k: { name: string }) => k.name === strict)).toMatchObject({ onLeak: 'rotate-1h' });
    expect(await json('keys', 'show', strict)).toMatchObject({ onLeak: 'rotate-1h' });
    expect((await cli('keys', 'show', strict)).out).toContain('on leak:      rotate-1h');
    const created = (await json('keys', 'audit', strict)).events[0];
    expect(created).toMatchObject({ action: 'create', details: { onLeak: 'rotate-1h' } });
  });

  it('policy N --on-leak changes it, audited before and after; the same value again changes nothing', async () => {
    const { cli, json } = setup();
    const name = uniqueName('pol');
    await json('keys', 'create', '--name', name);
    expect(await json('keys', 'policy', name, '--on-leak', 'rotate-now')).toMatchObject({
      name,
      onLeak: 'rotate-now',
      onLeakStatus: 'changed',
    });
    expect(await json('keys', 'policy', name, '--on-leak', 'rotate-now')).toMatchObject({
      onLeakStatus: 'unchanged',
    });
    const text = await cli('keys', 'policy', name, '--on-leak', 'notify', '--rotate-every', '30d');
    expect(text.code, text.err).toBe(0);
    expect(text.out).toContain('rotation policy');
    expect(text.out).toContain(`Changed what rekey does when a key of "${name}" is reported leaked: notify.`);
    const edits = (await json('keys', 'audit', name)).events.filter(
      (e: { action: string }) => e.action === 'edit',
    );
    expect(edits.map((e: { details: unknown }) => e.details)).toEqual([
      { before: { onLeak: 'notify' }, after: { onLeak: 'rotate-now' } },
      { before: { onLeak: 'rotate-now' }, after: { onLeak: 'notify' } },
    ]);
  });

  it.each(['rotate', 'ROTATE-NOW', 'rotate-24h', ''])(
    'refuses --on-leak "%s" with the accepted names and changes nothing',
    async (bad) => {
      const { cli, json } = setup();
      const name = uniqueName('bad');
      await json('keys', 'create', '--name', name, '--on-leak', 'rotate-1h');
      const refused = await cli('keys', 'policy', name, '--on-leak', bad);
      expect(refused.code).toBe(2);
      expect(refused.err).toContain('notify, rotate-1h or rotate-now');
      expect(await json('keys', 'show', name)).toMatchObject({ onLeak: 'rotate-1h' });
      const other = uniqueName('bad');
      expect((await cli('keys', 'create', '--name', other, '--on-leak', bad)).code).toBe(2);
      expect((await cli('keys', 'show', other)).code).not.toBe(0);
    },
  );
});
