import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAuditEvents } from '../../src/store/audit-store.ts';
import { readAllTables } from '../support/tables-text.ts';
import { onRealPostgres, openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { cliActor, testServices, uniqueName } from '../support/test-services.ts';

describe.runIf(onRealPostgres)('automatic containment across replicas', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await openTestDatabase();
  });
  afterAll(() => database?.close());

  it('twenty reports of one current secret at once, from two replicas, rotate it exactly once; every report is audited', async () => {
    // Two replicas' services on one PostgreSQL, their reports running at once on separate connections.
    const [a, b] = [testServices(database), testServices(database)];
    const { key, token } = await a.createKey({
      name: uniqueName('race'),
      maintainers: ['UADA'],
      alertChannel: 'CALERTS',
      onLeak: 'rotate-1h',
      actor: cliActor,
    });
    const reports = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 ? a : b).reportLeak({
          token,
          place: { kind: 'scanner', source: 'commit', url: `https://github.com/acme/shop/blob/${i}/.env` },
        }),
      ),
    );
    expect(reports.every((r) => r.status === 'live' && r.reported)).toBe(true);
    expect(reports.filter((r) => r.status === 'live' && r.contained)).toHaveLength(1);
    const audit = await listAuditEvents(database.db, key.id);
    expect(audit.filter((e) => e.action === 'rotate')).toMatchObject([{ actor: 'rekey', delay: '1h' }]);
    expect(audit.filter((e) => e.action === 'leak_reported')).toHaveLength(20);
    const rows = (await readAllTables(database.db)).rows.get('leak_reports') as Array<{
      key_id: string;
      action: string | null;
    }>;
    expect(rows.filter((r) => r.key_id === key.id && r.action !== null)).toHaveLength(1);
    // The leaked secret keeps its hour; nobody was told more than once per recipient so far.
    expect(await a.verifyKey(token)).toMatchObject({ valid: true, status: 'expiring' });
    const notices = (await readAllTables(database.db)).rows.get('leak_notices') as Array<{
      key_id: string;
      recipient: string;
      reports: number;
    }>;
    const mine = notices.filter((n) => n.key_id === key.id);
    expect(mine.map((n) => n.recipient).sort()).toEqual(['CALERTS', 'UADA']);
    expect(mine.every((n) => n.reports === 20)).toBe(true);
  });
});
