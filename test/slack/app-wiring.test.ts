import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Rekey, startRekey } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { ids } from '../../src/slack/ids.ts';
import { type FakeSlack, SlackUser, startFakeSlack } from '../fake-slack/index.ts';
import { createTestKey } from '../support/fixtures.ts';
import { openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { BOT_TOKEN, SIGNING_SECRET } from './harness.ts';

let database: TestDatabase;
let fake: FakeSlack;
let rekey: Rekey;
beforeAll(async () => {
  database = await openTestDatabase();
  fake = await startFakeSlack({ botToken: BOT_TOKEN });
  const config = loadConfig({
    PORT: '0',
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: fake.apiUrl,
    LOG_LEVEL: 'silent',
  });
  rekey = await startRekey(config, { database, logger: createLogger('silent'), host: '127.0.0.1' });
});
afterAll(async () => {
  await rekey?.close();
  await fake?.close();
  await database?.close();
});

it('serves Slack on /slack/events of the same server as the API when Slack credentials are set', async () => {
  expect(fake.callsTo('auth.test').map((c) => c.outcome)).toContain('ok');
  const created = await createTestKey(rekey.services, { maintainers: ['UWIRE'] });
  const user = new SlackUser({ fake, rekeyUrl: rekey.url, signingSecret: SIGNING_SECRET }, 'UWIRE');
  const command = await user.command(created.key.name);
  expect(command.status).toBe(200);
  const modal = await user.waitForModal();
  expect(modal.callback_id).toBe(ids.views.choose);
  expect((await fetch(`${rekey.url}/healthz`)).status).toBe(200);
});

it('refuses to start with a bot token Slack rejects, saying which variable to check', async () => {
  const config = loadConfig({
    PORT: '0',
    SLACK_BOT_TOKEN: 'xoxb-wrong',
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: fake.apiUrl,
  });
  await expect(
    startRekey(config, { database, logger: createLogger('silent'), host: '127.0.0.1' }),
  ).rejects.toThrow(/SLACK_BOT_TOKEN.*invalid_auth/);
});
