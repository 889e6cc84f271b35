import { request } from 'node:http';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Rekey, startRekey } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createTestKey } from '../support/fixtures.ts';
import { openTestDatabase, type TestDatabase } from '../support/test-database.ts';

let database: TestDatabase;
let rekey: Rekey;
beforeAll(async () => {
  database = await openTestDatabase();
  rekey = await startRekey(loadConfig({ PORT: '0', LOG_LEVEL: 'silent' }), {
    logger: pino({ level: 'silent' }),
    database,
  });
});
afterAll(async () => {
  await rekey?.close();
  await database?.close();
});

function send(path: string, body?: string): Promise<string> {
  const host = new URL(rekey.url).host;
  const headers = body ? { host, origin: `http://${host}`, 'content-type': 'application/json' } : { host };
  return new Promise((resolve, reject) => {
    const req = request(`${rekey.url}${path}`, { method: body ? 'POST' : 'GET', headers }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => {
        text += c.toString();
      });
      res.on('end', () => resolve(text));
    });
    req.on('error', reject);
    req.end(body);
  });
}

it('in local mode, a key pasted in #general gets the thread reply, and its maintainer the DM', async () => {
  const { key, token } = await createTestKey(rekey.services, {
    maintainers: ['U0ADA'],
    alertChannel: 'C0ALERTS',
  });
  await send('/local/api/message', JSON.stringify({ user: 'U0OSCAR', channel: 'C0GENERAL', text: token }));

  type Shown = { channel: string; text: string; user?: string };
  let messages: Shown[] = [];
  const deadline = Date.now() + 10_000;
  // Ada's DM and the alert channel's notice, as the page shows them once they arrive.
  const told = (m: Shown[]) =>
    ['DU0ADA', 'C0ALERTS'].every((channel) =>
      m.some((x) => x.channel === channel && x.text.includes(key.name)),
    );
  while (!told(messages) && Date.now() < deadline) {
    messages = JSON.parse(await send('/local/api/state?user=U0ADA')).messages as Shown[];
    if (!told(messages)) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const fromBot = (channel: string) =>
    messages.filter((m) => m.channel === channel && !m.user).map((m) => m.text);
  expect(fromBot('C0GENERAL')).toEqual([expect.stringContaining(`working API key of ${key.name}`)]);
  expect(fromBot('C0ALERTS')).toEqual([
    expect.stringContaining(`${key.name}: its current key was reported leaked`),
  ]);
  expect(told(messages)).toBe(true);
  expect(JSON.stringify(messages.filter((m) => !m.user))).not.toContain(token);
});
