import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { notifications, secrets } from '../../db/schema/index.ts';
import { type Rekey, startRekey } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { ids } from '../../src/slack/ids.ts';
import { type FakeSlack, SlackUser, startFakeSlack } from '../fake-slack/index.ts';
import { BOT_TOKEN, SIGNING_SECRET } from '../slack/harness.ts';
import { createTestKey } from '../support/fixtures.ts';
import { manualClock } from '../support/manual-clock.ts';
import { openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { cliActor, uniqueName } from '../support/test-services.ts';
import { silentLogger } from './support.ts';

let database: TestDatabase;
let fake: FakeSlack;
let rekey: Rekey;
beforeAll(async () => {
  database = await openTestDatabase();
  fake = await startFakeSlack({ botToken: BOT_TOKEN });
  // The whole app as deployed (HTTP mode), its scheduler ticking every second.
  const config = loadConfig({
    PORT: '0',
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: fake.apiUrl,
    REKEY_CRON: '* * * * * *',
    LOG_LEVEL: 'silent',
  });
  rekey = await startRekey(config, {
    database,
    logger: silentLogger,
    clock: manualClock(),
    host: '127.0.0.1',
  });
});
afterAll(async () => {
  await rekey?.close();
  await fake?.close();
  await database?.close();
});

it('a 429 storm on the notices does not hold up the modal of a /rotate-key', async () => {
  // Slack rate-limits every notice for a while, asking for 10 s each time.
  fake.fail('chat.postMessage', { status: 429, retryAfter: 10 }, 1000);
  const name = uniqueName('storm');
  await createTestKey(rekey.services, { name, alertChannel: 'CSTORM', maintainers: ['USTORM'] });
  await rekey.services.rotateKey({
    key: { name },
    delay: 'now',
    actor: cliActor,
    acknowledged: true,
    requestId: uniqueName('req'),
  });
  // The scheduler has tried to announce the expiry and is now waiting out the Retry-After.
  await fake.waitFor((c) => c.method === 'chat.postMessage' && c.outcome === 'http_429');

  const user = new SlackUser({ fake, rekeyUrl: rekey.url, signingSecret: SIGNING_SECRET }, 'USTORM');
  const answer = await user.command(name);
  expect(answer.status).toBe(200);
  // Slack refuses a trigger older than 3 s: behind a 10 s rate-limit wait this would be
  // expired_trigger_id and the user would see no modal.
  const opened = await fake.waitFor((c) => c.method === 'views.open', 15_000);
  expect(opened.outcome).toBe('ok');
  expect((await user.waitForModal()).callback_id).toBe(ids.views.choose);
}, 30_000);

it('stops without waiting out the rate limit, giving the unsent notice back for the next process', async () => {
  const [notice] = await database.db.select().from(notifications).where(eq(notifications.kind, 'expired'));
  expect(notice).toMatchObject({ status: 'claimed', claimedBy: expect.any(String) });
  // Within the hook's bound, not after the 10 s Retry-After (or the 30 s a notice may wait in all).
  await rekey.close();
  const [after] = await database.db.select().from(notifications).where(eq(notifications.id, notice!.id));
  // Nobody holds it, and its old key is due at once: whichever process ticks next sends it.
  expect(after).toMatchObject({ status: 'claimed', claimedBy: null, deliveredTo: [] });
  const [secret] = await database.db.select().from(secrets).where(eq(secrets.id, notice!.secretId!));
  expect(secret!.nextNoticeAt).toBeNull();
}, 5_000);
