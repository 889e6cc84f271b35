import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeSlack, SlackCall } from '../../src/fake-slack/fake-slack.ts';
import { startFakeSlack } from '../../src/fake-slack/index.ts';
import { type RekeyProcess, spawnRekey } from '../http/rekey-process.ts';
import { childScript } from '../support/child-scripts.ts';
import { createTestKey } from '../support/fixtures.ts';
import { readAllTables } from '../support/tables-text.ts';
import { onRealPostgres, openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { testServices } from '../support/test-services.ts';
import { BOT_TOKEN, SIGNING_SECRET } from './harness.ts';

const ALERTS = 'CALERTS';

async function until(ok: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!ok() && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  return ok();
}

describe.runIf(onRealPostgres)('the leak outbox when the process that recorded a report dies', () => {
  let database: TestDatabase;
  let fake: FakeSlack;
  const replicas: RekeyProcess[] = [];

  beforeAll(async () => {
    database = await openTestDatabase();
    fake = await startFakeSlack({ botToken: BOT_TOKEN });
  });
  afterAll(async () => {
    for (const replica of replicas) {
      replica.child.kill('SIGTERM');
      await replica.exited;
    }
    await fake?.close();
    await database?.close();
  });

  it('killed after the report is recorded and before any message: two replicas started afterwards send the thread reply, each DM and the alert exactly once', async () => {
    const services = testServices(database);
    const { key, token } = await createTestKey(services, {
      maintainers: ['UADA', 'UGRACE'],
      alertChannel: ALERTS,
    });
    const ts = '1765000000.000100';

    const died: { stdout?: string; signal?: string } = await promisify(execFile)(
      process.execPath,
      [childScript('report-then-die'), database.url!, 'CGENERAL', ts, 'UOSCAR', token],
      { timeout: 60_000 },
    ).catch((error: { stdout?: string; signal?: string }) => error);
    expect(died.signal).toBe('SIGKILL');
    expect(died.stdout).toContain('REPORTED live');
    // Recorded, nobody told yet: the report, its audit, and the four messages owed.
    const tables = (await readAllTables(database.db)).rows;
    expect(tables.get('leak_reports')).toHaveLength(1);
    const owed = tables.get('leak_notices') as Array<{ kind: string; status: string }>;
    expect(owed.map((n) => `${n.kind}:${n.status}`).sort()).toEqual([
      'channel:open',
      'dm:open',
      'dm:open',
      'thread:open',
    ]);
    expect(fake.calls.filter((c) => c.method === 'chat.postMessage')).toEqual([]);

    const env = {
      DATABASE_URL: database.url!,
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: fake.apiUrl,
      REKEY_DATA_DIR: '/nonexistent',
    };
    replicas.push(...(await Promise.all([spawnRekey(env), spawnRekey(env)])));

    const posts = () =>
      fake.calls.filter((c: SlackCall) => c.method === 'chat.postMessage' && c.outcome === 'ok');
    const to = (channel: string, thread?: string) =>
      posts().filter((c) => c.params.channel === channel && c.params.thread_ts === thread);
    const everyone = () =>
      to('CGENERAL', ts).length > 0 &&
      to('UADA').length > 0 &&
      to('UGRACE').length > 0 &&
      to(ALERTS).length > 0;
    expect(await until(everyone, 30_000)).toBe(true);
    // A few more sweeps of both replicas (every 5 s): still once each.
    await new Promise((r) => setTimeout(r, 11_000));
    expect(to('CGENERAL', ts)).toHaveLength(1);
    for (const channel of ['UADA', 'UGRACE', ALERTS]) expect(to(channel), channel).toHaveLength(1);
    expect(posts()).toHaveLength(4);
    expect(JSON.stringify(to('UADA')[0]!.params)).toContain(key.name);
    const sent = (await readAllTables(database.db)).rows.get('leak_notices') as Array<{ status: string }>;
    expect(sent.every((n) => n.status === 'sent')).toBe(true);
  }, 120_000);
});
