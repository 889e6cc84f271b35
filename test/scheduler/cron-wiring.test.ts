import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRekey } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { isAppError } from '../../src/errors.ts';
import { UsageCounter } from '../../src/services/usage-counter.ts';
import { addUseCounts } from '../../src/store/usage-store.ts';
import { MINUTE, manualClock } from '../support/manual-clock.ts';
import { PROJECT_ROOT, runMainProcess } from '../support/spawn-rekey.ts';
import { openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { cliActor, uniqueName } from '../support/test-services.ts';
import { recordingPoster, silentLogger } from './support.ts';

function configProblem(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    if (isAppError(error, 'CONFIG_INVALID')) return error.message;
    throw error;
  }
  throw new Error('expected the configuration to be refused');
}

describe('scheduler configuration', () => {
  it('refuses an invalid REKEY_CRON with a message naming it', () => {
    expect(configProblem({ REKEY_CRON: '61 * * * *' })).toContain(
      'REKEY_CRON must be a valid cron expression, e.g. "* * * * *" for every minute',
    );
    expect(configProblem({ REKEY_CRON: 'every minute' })).toContain('REKEY_CRON');
  });

  it('refuses REKEY_REMINDERS that are not durations', () => {
    for (const bad of ['soon', '24h,,x', '0m', '1 hour']) {
      expect(configProblem({ REKEY_REMINDERS: bad }), bad).toContain(
        'REKEY_REMINDERS must be a comma-separated list of durations like 24h,1h,10m',
      );
    }
  });

  it('reads REKEY_REMINDERS as offsets, longest first, without duplicates', () => {
    expect(loadConfig({ REKEY_REMINDERS: '10m, 24h,1h,10m' }).REKEY_REMINDERS).toEqual([
      86_400_000, 3_600_000, 600_000,
    ]);
  });

  it('npm start stops with a clear message and exit code 2 on a bad REKEY_CRON and REKEY_REMINDERS', async () => {
    const { code, stderr } = await runMainProcess({
      cwd: PROJECT_ROOT,
      env: { REKEY_CRON: '* * * *  * * *', REKEY_REMINDERS: 'tomorrow' },
    });
    expect(code).toBe(2);
    expect(stderr).toContain('REKEY_CRON must be a valid cron expression');
    expect(stderr).toContain('REKEY_REMINDERS must be a comma-separated list of durations');
  }, 30_000);
});

describe('startRekey runs the scheduler on REKEY_CRON', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await openTestDatabase();
  });
  afterAll(() => database.close());

  it('posts through the injected Slack client on its cadence and stops with the app', async () => {
    const clock = manualClock();
    const slack = recordingPoster(clock);
    const rekey = await startRekey(loadConfig({ PORT: '0', REKEY_CRON: '* * * * * *' }), {
      logger: silentLogger,
      database,
      clock,
      host: '127.0.0.1',
      slackClient: slack.poster,
    });
    try {
      const name = uniqueName();
      await rekey.services.createKey({ name, alertChannel: 'CWIRING1', actor: cliActor });
      await rekey.services.rotateKey({
        key: { name },
        delay: 'now',
        actor: cliActor,
        acknowledged: true,
        requestId: uniqueName('req'),
      });
      const deadline = Date.now() + 5_000;
      while (slack.posts.length === 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(slack.posts.map((p) => p.channel)).toEqual(['CWIRING1']);
    } finally {
      await rekey.close();
    }
    const after = slack.posts.length;
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(slack.posts.length).toBe(after);
  }, 30_000);

  it('sends the cutover notice with REKEY_QUIET_AFTER as configured, on the same cadence', async () => {
    const clock = manualClock();
    const slack = recordingPoster(clock);
    const rekey = await startRekey(
      loadConfig({ PORT: '0', REKEY_CRON: '* * * * * *', REKEY_QUIET_AFTER: '5m' }),
      { logger: silentLogger, database, clock, host: '127.0.0.1', slackClient: slack.poster },
    );
    try {
      const name = uniqueName();
      await rekey.services.createKey({ name, alertChannel: 'CWIRING2', actor: cliActor });
      const rotation = await rekey.services.rotateKey({
        key: { name },
        delay: '24h',
        actor: cliActor,
        acknowledged: true,
        requestId: uniqueName('req'),
      });
      if (rotation.status !== 'rotated') throw new Error(rotation.status);
      // The old key called once, the new one since and a moment ago: the old key quiet for 6 minutes by
      // the clock, past the 5 configured.
      const counter = new UsageCounter();
      const start = clock.now().getTime();
      counter.record(counter.slotFor(rotation.oldSecret.id), start, false);
      counter.record(counter.slotFor(rotation.newSecret.id), start + 5.5 * MINUTE, false);
      await addUseCounts(database.db, counter.drain());
      clock.set(new Date(clock.now().getTime() + 6 * MINUTE));
      const deadline = Date.now() + 5_000;
      while (!slack.posts.some((p) => p.channel === 'CWIRING2') && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(slack.posts.filter((p) => p.channel === 'CWIRING2').map((p) => p.text)).toEqual([
        expect.stringContaining('Every client seems to have moved'),
      ]);
    } finally {
      await rekey.close();
    }
  }, 30_000);
});
