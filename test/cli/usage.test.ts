import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageCounter } from '../../src/services/usage-counter.ts';
import { addUseCounts } from '../../src/store/usage-store.ts';
import { createTestKey, rotateTestKey } from '../support/fixtures.ts';
import { runCliInProcess } from '../support/run-cli-in-process.ts';
import { openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { testServices } from '../support/test-services.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database.close());

const TOKEN = /rk_live_[0-9A-Za-z]{38}/g;

const cli = runCliInProcess;

/**
 * A key rotated three times on 2026-01-15 (two old keys stopped at once, the third kept for 24 hours),
 * then called through the day as the verify path counts it; the clock stops at 13:30.
 */
async function keyInUse() {
  const services = testServices(database);
  services.clock.set('2026-01-15T10:00:00Z');
  const created = await createTestKey(services);
  const s0 = created.key.current!;
  const s1 = (await rotateTestKey(services, { id: created.key.id }, 'now')).newSecret;
  services.clock.set('2026-01-15T10:01:00Z');
  const s2 = (await rotateTestKey(services, { id: created.key.id }, 'now')).newSecret;
  services.clock.set('2026-01-15T10:02:00Z');
  const rotation = await rotateTestKey(services, { id: created.key.id }, '24h');
  const s3 = rotation.newSecret;
  const tokens = [created.token, rotation.token];

  const counter = new UsageCounter();
  const slots = new Map([s1, s2, s3].map((s) => [s.id, counter.slotFor(s.id)]));
  const call = (secretId: string, at: string, times: number, expired = false) => {
    for (let i = 0; i < times; i++) counter.record(slots.get(secretId)!, Date.parse(at) + i, expired);
  };
  call(s1.id, '2026-01-15T11:20:00Z', 2, true);
  call(s2.id, '2026-01-15T11:30:00Z', 600);
  call(s2.id, '2026-01-15T12:40:00Z', 100);
  call(s2.id, '2026-01-15T13:10:00Z', 10);
  call(s3.id, '2026-01-15T13:20:00Z', 5);
  await addUseCounts(database.db, counter.drain());
  services.clock.set('2026-01-15T13:30:00Z');
  return { services, name: created.key.name, s0, s1, s2, s3, tokens };
}

describe('rekey keys show: each secret’s use', () => {
  it('--json gives the current and the old key their last use and calls in the last hour and day', async () => {
    const { services, name, s2, s3 } = await keyInUse();
    const r = await cli(['keys', 'show', name, '--json'], services);
    expect(r.code).toBe(0);
    const key = JSON.parse(r.out);
    expect(key.current).toMatchObject({
      id: s3.id,
      lastUsedAt: '2026-01-15T13:20:00.004Z',
      uses: { lastHour: 5, last24h: 5 },
    });
    // The last hour is 12:30–13:30: all of the 13:00 hour (10) and half of the 12:00 hour (100).
    expect(key.inGrace).toEqual([
      expect.objectContaining({
        id: s2.id,
        lastUsedAt: '2026-01-15T13:10:00.009Z',
        uses: { lastHour: 60, last24h: 710 },
      }),
    ]);
  });

  it('gives a secret never sent lastUsedAt null and zero calls, and says "never used" in text', async () => {
    const services = testServices(database);
    const { key } = await createTestKey(services);
    const json = JSON.parse((await cli(['keys', 'show', key.name, '--json'], services)).out);
    expect(json.current).toMatchObject({ lastUsedAt: null, uses: { lastHour: 0, last24h: 0 } });
    expect((await cli(['keys', 'show', key.name], services)).out).toContain('never used');
  });

  it('prints each key’s use under it in text', async () => {
    const { services, name } = await keyInUse();
    const r = await cli(['keys', 'show', name], services);
    expect(r.out).toContain(
      'last used 2026-01-15T13:20:00.004Z; 5 calls in the last hour, 5 calls in the last 24 hours',
    );
    expect(r.out).toContain(
      'last used 2026-01-15T13:10:00.009Z; 60 calls in the last hour, 710 calls in the last 24 hours',
    );
  });
});

describe('rekey keys usage', () => {
  it('--json lists each secret’s calls per clock hour, newest first, over the last 24 hours', async () => {
    const { services, name, s1, s2, s3 } = await keyInUse();
    const r = await cli(['keys', 'usage', name, '--json'], services);
    expect(r.code).toBe(0);
    const usage = JSON.parse(r.out);
    expect(usage).toMatchObject({ name, hours: 24, from: '2026-01-14T14:00:00.000Z' });
    // The expired key that was still sent is listed; the one nobody sent (s0) is not.
    expect(usage.secrets.map((s: { id: string; status: string }) => [s.id, s.status])).toEqual([
      [s3.id, 'active'],
      [s2.id, 'expiring'],
      [s1.id, 'expired'],
    ]);
    for (const secret of usage.secrets) {
      expect(secret.hours).toHaveLength(24);
      expect(secret.hours[0].hour).toBe('2026-01-15T13:00:00.000Z');
      expect(secret.hours[23].hour).toBe('2026-01-14T14:00:00.000Z');
    }
    const first = (s: { hours: { uses: number; expiredUses: number }[] }) =>
      s.hours.slice(0, 4).map((h) => [h.uses, h.expiredUses]);
    expect(usage.secrets.map(first)).toEqual([
      [
        [5, 0],
        [0, 0],
        [0, 0],
        [0, 0],
      ],
      [
        [10, 0],
        [100, 0],
        [600, 0],
        [0, 0],
      ],
      [
        [0, 0],
        [0, 0],
        [2, 2],
        [0, 0],
      ],
    ]);
    expect(usage.secrets[2].lastUsedAt).toBe('2026-01-15T11:20:00.001Z');
  });

  it('prints a table of hours by key for --hours H, with calls refused after expiry marked', async () => {
    const { services, name, s2, tokens } = await keyInUse();
    const r = await cli(['keys', 'usage', name, '--hours', '3'], services);
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    expect(lines[0]).toBe(`Calls to "${name}" per clock hour (UTC), newest first: the last 3 hours.`);
    expect(r.out).toContain(`${s2.display}  old key, stops working 2026-01-16T10:02:00.000Z`);
    const table = lines.filter((line) => /^2026-01-15 \d\d:00 /.test(line));
    expect(table.map((line) => line.split(/\s{2,}/))).toEqual([
      ['2026-01-15 13:00', '5', '10', '0'],
      ['2026-01-15 12:00', '0', '100', '0'],
      ['2026-01-15 11:00', '0', '600', '2 (2 refused)'],
    ]);
    expect(r.out).toContain('refused: calls made after that key had stopped working');
    for (const token of tokens) expect(r.out).not.toContain(token);
    expect(r.out.match(TOKEN)).toBeNull();
  });

  it('leaves out an expired key that was not sent within the window', async () => {
    const { services, name, s1 } = await keyInUse();
    // 11:20 is more than 2 hours before 13:30: the window is the 12:00 and 13:00 hours.
    const usage = JSON.parse((await cli(['keys', 'usage', name, '--hours', '2', '--json'], services)).out);
    expect(usage.secrets.map((s: { id: string }) => s.id)).not.toContain(s1.id);
    expect(usage.secrets).toHaveLength(2);
  });

  it('refuses an --hours that is not a whole number from 1 to 720, and an unknown key', async () => {
    const { services, name } = await keyInUse();
    for (const bad of ['0', '721', '1.5', 'day', '-3']) {
      const r = await cli(['keys', 'usage', name, `--hours=${bad}`], services);
      expect(r.code, bad).toBe(2);
      expect(r.err).toContain('--hours must be a whole number from 1 to 720.');
    }
    expect((await cli(['keys', 'usage', name, '--hours', '720'], services)).code).toBe(0);
    const missing = await cli(['keys', 'usage', 'no-such-key', '--json'], services);
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.err)).toMatchObject({ error: { code: 'KEY_NOT_FOUND' } });
    expect((await cli(['keys', 'usage'], services)).err).toContain('"keys usage" needs a key name.');
  });
});
