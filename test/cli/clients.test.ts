import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageCounter } from '../../src/services/usage-counter.ts';
import { addUseCounts } from '../../src/store/usage-store.ts';
import { createTestKey, rotateTestKey } from '../support/fixtures.ts';
import { runCliInProcess as cli } from '../support/run-cli-in-process.ts';
import { openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { testServices } from '../support/test-services.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database.close());

/**
 * A key rotated at 10:00 with a 24-hour grace period. The old key is still sent by three clients
 * (30, 20 and 10 calls, the last one through a gateway that passes no identity) and, the day before,
 * by twelve one-off scripts; the new key by one service, more every hour. The clock stops at 13:30.
 */
async function keyWithClients() {
  const services = testServices(database);
  services.clock.set('2026-01-14T09:00:00Z');
  const created = await createTestKey(services);
  const counter = new UsageCounter();
  const oldSlot = counter.slotFor(created.key.current!.id);
  // Four an hour from 15:00 to 17:00 (a tally keeps ten clients per hour; these fit).
  for (let i = 0; i < 12; i++) {
    const at = Date.parse('2026-01-14T15:00:00Z') + Math.floor(i / 4) * 3_600_000 + i;
    counter.record(oldSlot, at, false, `10.9.0.${i + 1}`, `cron/${i + 1}`);
  }
  services.clock.set('2026-01-15T10:00:00Z');
  const rotation = await rotateTestKey(services, { id: created.key.id }, '24h');
  const newSlot = counter.slotFor(rotation.newSecret.id);
  const calls = (
    slot: typeof oldSlot,
    at: string,
    times: number,
    ip: string | null,
    agent: string | null,
  ) => {
    for (let i = 0; i < times; i++) counter.record(slot, Date.parse(at) + i * 1_000, false, ip, agent);
  };
  calls(oldSlot, '2026-01-15T13:00:00Z', 30, '10.0.3.7', 'python-requests/2.31');
  calls(oldSlot, '2026-01-15T13:05:00Z', 20, '10.0.3.8', 'Go-http-client/1.1');
  calls(oldSlot, '2026-01-15T13:10:00Z', 10, null, null);
  calls(newSlot, '2026-01-15T10:30:00Z', 10, '10.0.4.1', 'billing/3.0');
  calls(newSlot, '2026-01-15T11:30:00Z', 20, '10.0.4.1', 'billing/3.0');
  calls(newSlot, '2026-01-15T12:30:00Z', 40, '10.0.4.1', 'billing/3.0');
  calls(newSlot, '2026-01-15T13:15:00Z', 80, '10.0.4.1', 'billing/3.0');
  await addUseCounts(database.db, counter.drain());
  services.clock.set('2026-01-15T13:30:00Z');
  return { services, name: created.key.name, rotation, oldToken: created.token };
}

describe('rekey names the clients of each key', () => {
  it('keys show --json gives each secret its top 10 clients over the last 24 hours, most calls first', async () => {
    const { services, name, rotation } = await keyWithClients();
    const shown = JSON.parse((await cli(['keys', 'show', name, '--json'], services)).out);
    const old = shown.inGrace[0];
    expect(old.id).toBe(rotation.oldSecret.id);
    expect(old.clients).toHaveLength(10);
    expect(old.clients.slice(0, 3)).toEqual([
      { ip: '10.0.3.7', userAgent: 'python-requests/2.31', uses: 30, lastUsedAt: '2026-01-15T13:00:29.000Z' },
      { ip: '10.0.3.8', userAgent: 'Go-http-client/1.1', uses: 20, lastUsedAt: '2026-01-15T13:05:19.000Z' },
      { ip: null, userAgent: null, uses: 10, lastUsedAt: '2026-01-15T13:10:09.000Z' },
    ]);
    // The day before's one-off scripts fill the rest of the ten; all fifteen are counted.
    expect(
      old.clients
        .slice(3)
        .every((c: { uses: number; ip: string }) => c.uses === 1 && c.ip.startsWith('10.9.0.')),
    ).toBe(true);
    expect(old.clientCount).toBe(15);
    expect(shown.current.clients).toEqual([
      { ip: '10.0.4.1', userAgent: 'billing/3.0', uses: 150, lastUsedAt: '2026-01-15T13:16:19.000Z' },
    ]);
  });

  it('keys show names the top three under each key in text, then how many more', async () => {
    const { services, name } = await keyWithClients();
    const out = (await cli(['keys', 'show', name], services)).out;
    expect(out).toContain(
      'by (last 24 hours): 10.0.3.7 python-requests/2.31 (30 calls, last 2026-01-15T13:00:29.000Z); ' +
        '10.0.3.8 Go-http-client/1.1 (20 calls, last 2026-01-15T13:05:19.000Z); ' +
        'unknown client (10 calls, last 2026-01-15T13:10:09.000Z); and 12 more',
    );
  });

  it('keys usage --clients prints a table of clients per key within the window', async () => {
    const { services, name, rotation } = await keyWithClients();
    const out = (await cli(['keys', 'usage', name, '--hours', '6', '--clients'], services)).out;
    const tableOf = (display: string) => {
      const lines = out.split('\n');
      const start = lines.findIndex((l) => l.startsWith(`Clients of ${display}`));
      expect(start, out).toBeGreaterThan(0);
      const end = lines.findIndex((l, i) => i > start && l === '');
      return lines.slice(start + 1, end).map((l) => l.trim().split(/\s{2,}/));
    };
    expect(tableOf(rotation.oldSecret.display)).toEqual([
      ['address', 'user agent', 'calls', 'last call'],
      ['10.0.3.7', 'python-requests/2.31', '30', '2026-01-15T13:00:29.000Z'],
      ['10.0.3.8', 'Go-http-client/1.1', '20', '2026-01-15T13:05:19.000Z'],
      ['unknown client', '—', '10', '2026-01-15T13:10:09.000Z'],
    ]);
    expect(tableOf(rotation.newSecret.display)).toEqual([
      ['address', 'user agent', 'calls', 'last call'],
      ['10.0.4.1', 'billing/3.0', '150', '2026-01-15T13:16:19.000Z'],
    ]);
    const json = JSON.parse((await cli(['keys', 'usage', name, '--clients', '--json'], services)).out);
    expect(json.secrets[1].clients[0]).toEqual({
      ip: '10.0.3.7',
      userAgent: 'python-requests/2.31',
      uses: 30,
      lastUsedAt: '2026-01-15T13:00:29.000Z',
    });
    expect(json.secrets[1].clientCount).toBe(15);
    // Without --clients, no client is listed.
    const plain = JSON.parse((await cli(['keys', 'usage', name, '--json'], services)).out);
    expect(plain.secrets[0]).not.toHaveProperty('clients');
  });

  it('keys usage draws the last 24 hours of the old and the new key side by side', async () => {
    const { services, name, rotation } = await keyWithClients();
    const out = (await cli(['keys', 'usage', name, '--hours', '3'], services)).out;
    const line = (display: string) =>
      out.split('\n').find((l) => l.startsWith(`  ${display}`) && l.includes('busiest'));
    // Oldest hour first: 14:00 yesterday … 13:00 today.
    expect(line(rotation.newSecret.display)).toMatch(/current key\s+·{20}▁▂▄█ {2}busiest hour 80 calls$/);
    expect(line(rotation.oldSecret.display)).toMatch(
      /old key, stops working 2026-01-16T10:00:00\.000Z\s+·▁▁▁·{19}█ {2}busiest hour 60 calls$/,
    );
    const json = JSON.parse((await cli(['keys', 'usage', name, '--json'], services)).out);
    expect(json.secrets.map((s: { sparkline: string; peak: number }) => [s.sparkline, s.peak])).toEqual([
      [`${'·'.repeat(20)}▁▂▄█`, 80],
      [`·▁▁▁${'·'.repeat(19)}█`, 60],
    ]);
  });
});
