import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeSlack, startFakeSlack } from '../fake-slack/index.ts';
import { BOT_TOKEN, SIGNING_SECRET } from '../slack/harness.ts';
import { createTestKey } from '../support/fixtures.ts';
import { expectRotationSeenWithin } from '../support/rotation-timing.ts';
import { PROJECT_ROOT, type RunningRekey, runCliProcess, startRekeyProcess } from '../support/spawn-rekey.ts';
import { onRealPostgres, openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { testServices } from '../support/test-services.ts';
import { postVerify } from './verify-server.ts';

const TOKEN = 'role-replica-token-0123456789abcdefg';
const AUTH = `Bearer ${TOKEN}`;
/** Tests that run the CLI (tsx, a process each): seconds apiece on a busy machine. */
const CLI_TEST_MS = 90_000;

/** Split roles share one PostgreSQL server: one bot, two verify replicas, each its own process. */
describe.runIf(onRealPostgres)('one bot and two verify replicas on one PostgreSQL', () => {
  let database: TestDatabase;
  let fake: FakeSlack;
  let bot: RunningRekey;
  let replicas: RunningRekey[] = [];
  let services: ReturnType<typeof testServices>;

  beforeAll(async () => {
    database = await openTestDatabase();
    services = testServices(database);
    fake = await startFakeSlack({ botToken: BOT_TOKEN });
    // Every process gets the same environment, Slack's credentials included, as a deployment that
    // mounts one set of variables everywhere would: the role alone decides what each one runs.
    const env = {
      DATABASE_URL: database.url!,
      REKEY_API_TOKENS: TOKEN,
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: fake.apiUrl,
    };
    const start = (role: string) =>
      startRekeyProcess({ cwd: PROJECT_ROOT, env: { ...env, REKEY_ROLE: role } });
    [bot, ...replicas] = await Promise.all([start('bot'), start('verify'), start('verify')]);
  }, 90_000);
  afterAll(async () => {
    await Promise.all([bot, ...replicas].map((p) => p?.stop()));
    await fake?.close();
    await database?.close();
  });

  it('serves Slack on the bot only: /slack/events on a verify replica is 404, and no replica calls Slack', async () => {
    const slackPost = (url: string) =>
      fetch(`${url}/slack/events`, { method: 'POST', body: 'token=x' }).then((r) => r.status);
    // Unsigned: Bolt refuses it on the bot (401), which proves the route is there.
    expect(await slackPost(bot.url)).toBe(401);
    for (const replica of replicas) expect(await slackPost(replica.url)).toBe(404);
    // The bot checked its token once at start; the replicas, given the same token, never called Slack.
    expect(fake.callsTo('auth.test')).toHaveLength(1);
    expect(bot.output()).toContain('"role":"bot"');
    for (const replica of replicas) expect(replica.output()).toContain('"role":"verify"');
  });

  it('keeps answering on both verify replicas after the bot is killed (SIGKILL)', async () => {
    const { token: cached } = await createTestKey(services);
    for (const replica of replicas) {
      expect((await postVerify(replica.url, { key: cached }, AUTH)).json).toMatchObject({ valid: true });
    }
    expect(await bot.stop('SIGKILL')).toBeNull();

    // A key each replica has cached, and one neither has seen (a database lookup).
    const { token: unseen } = await createTestKey(services);
    for (const replica of replicas) {
      expect((await postVerify(replica.url, { key: cached }, AUTH)).json).toMatchObject({ valid: true });
      expect((await postVerify(replica.url, { key: unseen }, AUTH)).json).toMatchObject({
        valid: true,
        status: 'active',
      });
      expect((await fetch(`${replica.url}/readyz`)).status).toBe(200);
      expect(replica.child.exitCode).toBeNull();
    }
  });

  it(
    'an immediate rotation made with the CLI reaches both verify replicas within 1 s of its commit',
    async () => {
      const { token, key } = await createTestKey(services);
      await expectRotationSeenWithin(1_000, {
        db: database.db,
        replicaUrls: replicas.map((r) => r.url),
        key: { id: key.id, token },
        auth: AUTH,
        rotate: async () => {
          const cli = await runCliProcess(['keys', 'rotate', key.name, '--delay', 'now', '--yes'], {
            cwd: PROJECT_ROOT,
            env: { DATABASE_URL: database.url! },
          });
          expect(cli.code, cli.stderr).toBe(0);
        },
      });
    },
    CLI_TEST_MS,
  );
});
