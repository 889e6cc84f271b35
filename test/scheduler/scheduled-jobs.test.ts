import cron from 'node-cron';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createMetrics } from '../../src/metrics.ts';
import { startScheduledJobs } from '../../src/scheduler/index.ts';
import { manualClock } from '../support/manual-clock.ts';
import { openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { recordingPoster, silentLogger } from './support.ts';

/** The names of the cron tasks this process has scheduled and not destroyed. */
function scheduledTaskNames(): string[] {
  return [...cron.getTasks().values()].map((task) => task.name ?? task.id).sort();
}

describe('startScheduledJobs: every scheduled job of the process', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await openTestDatabase();
  });
  afterAll(() => database.close());

  function start(slackClient?: ReturnType<typeof recordingPoster>['poster']) {
    const clock = manualClock();
    return startScheduledJobs({
      config: loadConfig({ PORT: '0' }),
      db: database.db,
      clock,
      logger: silentLogger,
      metrics: createMetrics(),
      slackClient,
    });
  }

  it('schedules the notices and the usage retention, and stop() leaves no task scheduled', async () => {
    const jobs = start(recordingPoster().poster);
    expect(jobs.notices).toBeDefined();
    expect(scheduledTaskNames()).toEqual(['rekey-notices', 'rekey-policy-digest', 'rekey-usage-retention']);
    await jobs.stop();
    expect(scheduledTaskNames()).toEqual([]);
  });

  it('still schedules the usage retention when there is no Slack client to post notices with', async () => {
    const jobs = start(undefined);
    try {
      expect(jobs.notices).toBeUndefined();
      expect(scheduledTaskNames()).toEqual(['rekey-usage-retention']);
    } finally {
      await jobs.stop();
    }
    expect(scheduledTaskNames()).toEqual([]);
  });
});
