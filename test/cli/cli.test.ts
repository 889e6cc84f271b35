import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failableDb } from '../slack/harness.ts';
import { runCliInProcess } from '../support/run-cli-in-process.ts';
import { openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { testServices, uniqueName } from '../support/test-services.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database.close());

const TOKEN = /rk_live_[0-9A-Za-z]{38}/g;

function cli(args: string[], services = testServices(database)) {
  return runCliInProcess(args, services);
}

describe('rekey keys', () => {
  it('create prints the key once, and nothing else ever prints it again', async () => {
    const services = testServices(database);
    const name = uniqueName('cli');
    const created = await cli(
      [
        'keys',
        'create',
        '--name',
        name,
        '--products',
        'a,b',
        '--maintainers',
        'UAAA1,UBBB2',
        '--channel',
        'CCHAN1',
      ],
      services,
    );
    expect(created.code).toBe(0);
    const tokens = created.out.match(TOKEN) ?? [];
    expect(tokens).toHaveLength(1);
    for (const args of [
      ['keys', 'list'],
      ['keys', 'show', name],
      ['keys', 'audit', name],
      ['keys', 'show', name, '--json'],
    ]) {
      const r = await cli(args, services);
      expect(r.code).toBe(0);
      expect(r.out).not.toContain(tokens[0]);
      expect(r.out).toContain(name);
    }
  });

  it('create --json gives machine output with the key and its properties', async () => {
    const name = uniqueName('json');
    const r = await cli(['keys', 'create', '--name', name, '--products', 'x', '--json']);
    const parsed = JSON.parse(r.out);
    expect(parsed.token).toMatch(/^rk_live_/);
    expect(parsed.key).toMatchObject({ name, products: ['x'] });
  });

  it('create takes maintainers and a channel as its usage line writes them (U1,U2 and C1)', async () => {
    const name = uniqueName('ids');
    const r = await cli([
      'keys',
      'create',
      '--name',
      name,
      '--maintainers',
      'U1,U2',
      '--channel',
      'C1',
      '--json',
    ]);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out).key).toMatchObject({ name, maintainers: ['U1', 'U2'], alertChannel: 'C1' });
  });

  it('rotate refuses without --yes and changes nothing', async () => {
    const services = testServices(database);
    const name = uniqueName('noyes');
    await cli(['keys', 'create', '--name', name], services);
    const r = await cli(['keys', 'rotate', name, '--delay', '1h'], services);
    expect(r.code).toBe(2);
    expect(r.err).toContain('cannot be undone: add --yes');
    expect((await services.showKey({ name })).lastRotatedAt).toBeNull();
  });

  it('rotate accepts only now|1h|3h|24h|48h|72h', async () => {
    const services = testServices(database);
    const name = uniqueName('delay');
    await cli(['keys', 'create', '--name', name], services);
    for (const bad of ['2h', '96h', '', '1d']) {
      const r = await cli(['keys', 'rotate', name, '--delay', bad, '--yes'], services);
      expect(r.code).toBe(2);
      expect(r.err).toContain('--delay must be one of now, 1h, 3h, 24h, 48h, 72h');
    }
    expect((await services.showKey({ name })).lastRotatedAt).toBeNull();
  });

  it('rotate --yes prints the new key once and when the old one stops; end-grace and audit follow', async () => {
    const services = testServices(database);
    const name = uniqueName('rot');
    await cli(['keys', 'create', '--name', name], services);
    const rotated = await cli(['keys', 'rotate', name, '--delay', '3h', '--yes', '--json'], services);
    expect(rotated.code).toBe(0);
    const body = JSON.parse(rotated.out);
    expect(await services.verifyKey(body.token)).toMatchObject({ status: 'active' });
    expect(body.oldSecret.expiresAt).toBe(
      new Date(services.clock.now().getTime() + 3 * 3_600_000).toISOString(),
    );
    const ended = await cli(['keys', 'end-grace', name, '--yes'], services);
    expect(ended.code).toBe(0);
    const audit = await cli(['keys', 'audit', name, '--json'], services);
    expect(JSON.parse(audit.out).events.map((e: { action: string }) => e.action)).toEqual([
      'create',
      'rotate',
      'end_grace',
    ]);
  });

  it('end-grace refuses without --yes', async () => {
    const r = await cli(['keys', 'end-grace', 'whatever']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('add --yes');
  });

  it('explains an unknown key, a taken name and a bad command, as JSON with --json', async () => {
    const services = testServices(database);
    const missing = await cli(['keys', 'show', 'no-such-key', '--json'], services);
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.err)).toMatchObject({ error: { code: 'KEY_NOT_FOUND' } });
    const name = uniqueName('dup');
    await cli(['keys', 'create', '--name', name], services);
    const taken = await cli(['keys', 'create', '--name', name], services);
    expect(taken.err).toContain('already exists');
    expect((await cli(['keys', 'frobnicate'])).code).toBe(2);
    expect((await cli(['keys', 'list', '--bogus'])).code).toBe(2);
    const invalid = await cli(['keys', 'create', '--name', 'has space', '--maintainers', 'bob']);
    expect(invalid.code).toBe(2);
    expect(invalid.err).toContain('maintainer "bob" is not a Slack user id');
  });
});

describe('rekey keys when the database fails', () => {
  it('says the database could not be reached, that nothing changed and that the command can run again', async () => {
    const failable = failableDb(database.db);
    const unreachable = testServices({ ...database, db: failable.db });
    failable.fail(true);
    const text = await cli(['keys', 'rotate', 'any', '--delay', '1h', '--yes'], unreachable);
    expect(text.code).toBe(1);
    expect(text.err).toContain('The database did not answer (ECONNREFUSED)');
    expect(text.err).toContain('run the same command again');
    const json = await cli(['keys', 'list', '--json'], unreachable);
    expect(JSON.parse(json.err)).toMatchObject({ error: { code: 'DATABASE_UNAVAILABLE', retryable: true } });
  });

  it('reports any other database error as internal, without calling it temporary', async () => {
    const failable = failableDb(
      database.db,
      Object.assign(new Error('relation "keys" does not exist'), { code: '42P01' }),
    );
    const broken = testServices({ ...database, db: failable.db });
    failable.fail(true);
    const json = await cli(['keys', 'list', '--json'], broken);
    expect(JSON.parse(json.err)).toEqual({
      error: {
        code: 'INTERNAL',
        message: 'Unexpected database error (SQLSTATE 42P01): relation "keys" does not exist',
        retryable: false,
      },
    });
  });
});
