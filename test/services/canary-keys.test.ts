import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keys, notifications, secrets } from '../../db/schema/index.ts';
import { hashToken } from '../../src/keys/hash.ts';
import { generateToken } from '../../src/keys/token.ts';
import { policyTick } from '../scheduler/policy-support.ts';
import { recordingPoster } from '../scheduler/support.ts';
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

/** A canary created with the CLI, as an operator plants one: its name, id and key string. */
async function plantCanary(json: ReturnType<typeof setup>['json']) {
  const name = uniqueName('decoy');
  const created = await json(
    'keys',
    'create',
    '--name',
    name,
    '--canary',
    '--channel',
    'CSEC',
    '--maintainers',
    'USEC1',
  );
  return { name, id: created.key.id as string, token: created.token as string };
}

/** The database's own refusal of a statement, as the message it raises. */
async function refusedBySql(statement: ReturnType<typeof sql>): Promise<string> {
  try {
    await database.db.execute(statement);
  } catch (error) {
    const e = error as { message?: string; cause?: { message?: string } };
    return `${e.message} ${e.cause?.message ?? ''}`;
  }
  throw new Error('the database accepted the statement');
}

describe('keys create --canary', () => {
  it('prints the decoy key once and says what it is; list and show give canary true, every other key false', async () => {
    const { cli, json } = setup();
    const name = uniqueName('decoy');
    const text = await cli('keys', 'create', '--name', name, '--canary', '--channel', 'CSEC');
    expect(text.code, text.err).toBe(0);
    expect(text.out).toMatch(/Created canary key .*never works.*alarm/s);
    expect(text.out).toMatch(/rk_live_[0-9A-Za-z]{38}/);
    const working = uniqueName('working');
    await json('keys', 'create', '--name', working);

    const listed = await json('keys', 'list');
    expect(listed.find((k: { name: string }) => k.name === name)).toMatchObject({
      canary: true,
      overdue: false,
    });
    expect(listed.find((k: { name: string }) => k.name === working)).toMatchObject({ canary: false });
    expect(await json('keys', 'show', name)).toMatchObject({
      canary: true,
      lastTriedAt: null,
      rotateEvery: null,
    });
    expect(await json('keys', 'show', working)).toMatchObject({ canary: false });
    expect((await cli('keys', 'show', name)).out).toMatch(/canary: +yes.*\n(.*\n)* {2}last tried: +never/);
    expect((await cli('keys', 'list')).out).toMatch(new RegExp(`${name} .*CANARY`));
  });

  it('is never valid: its key string verifies NOT_FOUND, exactly like a key rekey never issued', async () => {
    const { services, json } = setup();
    const canary = await plantCanary(json);
    expect(await services.verifyKey(canary.token)).toEqual({ valid: false, code: 'NOT_FOUND' });
    expect(await services.verifyKey(generateToken('rk_live').token)).toEqual({
      valid: false,
      code: 'NOT_FOUND',
    });
  });

  it('refuses a canary nobody would hear about, or one with a rotation policy or a leak action, and creates nothing', async () => {
    const { cli, json } = setup();
    const silent = uniqueName('decoy');
    const nobody = await cli('keys', 'create', '--name', silent, '--canary');
    expect(nobody.code).toBe(2);
    expect(nobody.err).toContain('a canary needs an alert channel or a maintainer');
    const scheduled = uniqueName('decoy');
    const policy = await cli(
      'keys',
      'create',
      '--name',
      scheduled,
      '--canary',
      '--channel',
      'CSEC',
      '--rotate-every',
      '90d',
    );
    expect(policy.code).toBe(1);
    expect(policy.err).toContain(
      'is a canary (a decoy key) and is never rotated, so it takes no rotation policy',
    );
    const contained = uniqueName('decoy');
    const onLeak = await cli(
      'keys',
      'create',
      '--name',
      contained,
      '--canary',
      '--channel',
      'CSEC',
      '--on-leak',
      'rotate-1h',
    );
    expect(onLeak.code).toBe(1);
    expect(onLeak.err).toContain('is never rotated or ended when reported leaked');
    const names = (await json('keys', 'list')).map((k: { name: string }) => k.name);
    expect(names).not.toContain(silent);
    expect(names).not.toContain(scheduled);
    expect(names).not.toContain(contained);
  });
});

describe('a canary can never become a working key, nor a working key a canary', () => {
  it('the CLI refuses to rotate it, end its grace or give it a policy, and nothing changes', async () => {
    const { services, cli, json } = setup();
    const canary = await plantCanary(json);
    const before = await json('keys', 'show', canary.name);

    const rotate = await cli('keys', 'rotate', canary.name, '--delay', 'now', '--yes');
    expect(rotate.code).toBe(1);
    expect(rotate.err).toContain(`"${canary.name}" is a canary (a decoy key) and is never rotated`);
    const endGrace = await cli('keys', 'end-grace', canary.name, '--yes');
    expect(endGrace.code).toBe(1);
    expect(endGrace.err).toContain('has no old key and no grace period to end');
    const policy = await cli('keys', 'policy', canary.name, '--rotate-every', '30d');
    expect(policy.code).toBe(1);
    expect(policy.err).toContain('takes no rotation policy');
    const onLeak = await cli('keys', 'policy', canary.name, '--on-leak', 'rotate-now');
    expect(onLeak.code).toBe(1);
    expect(onLeak.err).toContain(
      'is never rotated or ended when reported leaked: a report of it raises its alarm',
    );

    expect(await json('keys', 'show', canary.name)).toEqual(before);
    expect((await services.keyAudit({ name: canary.name })).events.map((e) => e.action)).toEqual(['create']);
    expect(await services.verifyKey(canary.token)).toEqual({ valid: false, code: 'NOT_FOUND' });
  });

  it('PostgreSQL itself refuses to flip the flag either way, to rotate a canary or to expire its key', async () => {
    const { json } = setup();
    const canary = await plantCanary(json);
    const working = await json('keys', 'create', '--name', uniqueName('working'));

    expect(await refusedBySql(sql`update keys set canary = false where id = ${canary.id}`)).toContain(
      'a canary key stays a canary',
    );
    expect(await refusedBySql(sql`update keys set canary = true where id = ${working.key.id}`)).toContain(
      'a working key never becomes one',
    );
    const second = generateToken('rk_live');
    expect(
      await refusedBySql(sql`insert into secrets (key_id, hash, display, created_at)
        values (${canary.id}, ${hashToken(second.token)}, 'x', now())`),
    ).toContain('a canary key is never rotated');
    expect(
      await refusedBySql(sql`update secrets set expires_at = now() where key_id = ${canary.id}`),
    ).toContain('never expires');
    expect(await refusedBySql(sql`update keys set rotate_every_days = 30 where id = ${canary.id}`)).toContain(
      'keys_canary_has_no_rotation_policy',
    );

    const [row] = await database.db.select().from(keys).where(eq(keys.id, canary.id));
    expect(row).toMatchObject({ canary: true, rotateEveryDays: null });
    const rows = await database.db.select().from(secrets).where(eq(secrets.keyId, canary.id));
    expect(rows).toMatchObject([{ expiresAt: null }]);
  });
});

describe('the rotation policy never touches canaries', () => {
  it('a canary is never overdue and gets no policy reminder, years on, while a policy key next to it does', async () => {
    const { clock, services, json } = setup();
    const canary = await plantCanary(json);
    const policed = await json(
      'keys',
      'create',
      '--name',
      uniqueName('pol'),
      '--channel',
      'CPOL',
      '--rotate-every',
      '1d',
    );
    const slack = recordingPoster(clock);

    clock.advance(800 * DAY);
    await policyTick(database, clock, slack.poster);

    expect(await json('keys', 'show', canary.name)).toMatchObject({ overdue: false, rotationDueAt: null });
    expect(await json('keys', 'show', policed.key.name)).toMatchObject({ overdue: true });
    const aboutCanary = await database.db
      .select()
      .from(notifications)
      .where(eq(notifications.keyId, canary.id));
    expect(aboutCanary).toEqual([]);
    expect(slack.posts.map((p) => p.channel)).toContain('CPOL');
    expect(slack.posts.some((p) => p.text.includes(canary.name))).toBe(false);
    expect(await services.verifyKey(canary.token)).toEqual({ valid: false, code: 'NOT_FOUND' });
  });
});
