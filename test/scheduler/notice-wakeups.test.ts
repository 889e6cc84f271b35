import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runNoticeRounds } from '../../src/scheduler/notice-rounds.ts';
import { type ScheduledSource, type Scheduler, startScheduler } from '../../src/scheduler/start-scheduler.ts';
import { announceNoticeDue } from '../../src/store/notice-wakeups.ts';
import { manualClock } from '../support/manual-clock.ts';
import { openTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { recordingPoster, silentLogger } from './support.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database.close());

/**
 * A prompt source as another part of rekey would register one: an outbox of notices owed to a
 * channel. Kept in memory here, since what is under test is how the scheduler is woken; `runs`
 * counts how often the scheduler looked at it.
 */
function outbox(name: string) {
  const owed: string[] = [];
  const state = { runs: 0 };
  const source: ScheduledSource = {
    name,
    cadence: 'prompt',
    run: (deps) => {
      state.runs += 1;
      return runNoticeRounds(deps, {
        anyDue: async () => owed.length > 0,
        claim: async () => {
          const claimed = owed.splice(0).map((text, i) => ({
            id: `${name}-${state.runs}-${i}`,
            kind: name,
            attempt: 1,
            text,
            pending: [{ to: `C${name.toUpperCase()}`, as: 'channel' as const }],
          }));
          return { claimed, scanned: claimed.length };
        },
        prepare: async () => ({
          compose: (notices) => ({ text: notices.map((n) => n.text).join(', '), blocks: [] }),
        }),
        order: (notices) => notices,
        perMessage: 10,
        complete: async (results) => ({
          sent: results.filter((r) => r.error === null).map((r) => r.notice),
          failed: [],
          givenBack: [],
        }),
      });
    },
  };
  return { owed, state, source };
}

let scheduler: Scheduler | undefined;
afterEach(async () => {
  await scheduler?.stop();
  scheduler = undefined;
});

function start(sources: ScheduledSource[], sweepEveryMs: number) {
  const slack = recordingPoster();
  scheduler = startScheduler('0 0 1 1 *', {
    db: database.db,
    database,
    clock: manualClock(),
    poster: slack.poster,
    offsets: [],
    policyOffsets: [],
    digestCron: '0 0 1 1 *',
    sources,
    logger: silentLogger,
    channelIntervalMs: 0,
    sweepEveryMs,
  });
  return { slack, scheduler };
}

async function until(done: () => boolean, what: string) {
  const deadline = Date.now() + 5_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('a prompt notice source', () => {
  it('is woken by the commit that announced its notice, long before any sweep or tick', async () => {
    const leak = outbox('leak');
    // Neither the sweep (hourly here) nor REKEY_CRON (yearly) can be what delivers it.
    const { slack, scheduler } = start([leak.source], 3_600_000);
    await scheduler.ready;
    await database.db.transaction(async (tx) => {
      leak.owed.push('a key was pasted in #general');
      await announceNoticeDue(tx, 'leak');
    });
    await until(() => slack.posts.length > 0, 'the woken source to post');
    expect(slack.posts.map((p) => [p.channel, p.text])).toEqual([['CLEAK', 'a key was pasted in #general']]);
  });

  it('is not woken by an announcement whose transaction rolled back', async () => {
    const leak = outbox('leak');
    const canary = outbox('canary');
    const { slack, scheduler } = start([leak.source, canary.source], 3_600_000);
    await scheduler.ready;
    await expect(
      database.db.transaction(async (tx) => {
        await announceNoticeDue(tx, 'leak');
        throw new Error('the report could not be recorded');
      }),
    ).rejects.toThrow('could not be recorded');
    // Notifications arrive in commit order: once the next commit's has been acted on, a notification
    // from the rolled-back transaction would have been too.
    await database.db.transaction(async (tx) => {
      canary.owed.push('someone tried the decoy key');
      await announceNoticeDue(tx, 'canary');
    });
    await until(() => slack.posts.length > 0, 'the canary source to post');
    expect(leak.state.runs).toBe(0);
  });

  it('is swept every few seconds, so a notice whose wake-up was missed still goes out', async () => {
    const leak = outbox('leak');
    const { slack, scheduler } = start([leak.source], 100);
    await scheduler.ready;
    // Recorded without an announcement (a wake-up lost while no scheduler was listening).
    leak.owed.push('recorded while nobody listened');
    await until(() => slack.posts.length > 0, 'the sweep to find it');
    expect(slack.posts.map((p) => p.text)).toEqual(['recorded while nobody listened']);
  });

  it('refuses a source name that is not a short word', async () => {
    await expect(
      database.db.transaction((tx) => announceNoticeDue(tx, "leak'; drop table keys; --")),
    ).rejects.toThrow('not a notice source name');
  });
});
