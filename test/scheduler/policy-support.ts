import { and, eq } from 'drizzle-orm';
import { keys, notifications } from '../../db/schema/index.ts';
import { type PolicyNoticeJobDeps, runPolicyNoticeTick } from '../../src/scheduler/policy-notice-job.ts';
import type { SlackPoster } from '../../src/scheduler/slack-poster.ts';
import type { Services } from '../../src/services/services.ts';
import type { Database } from '../../src/store/database.ts';
import { HOUR, type ManualClock, manualClock } from '../support/manual-clock.ts';
import { cliActor, testServices, uniqueName } from '../support/test-services.ts';
import { channelId, type Post, recordingPoster, silentLogger } from './support.ts';

export const DAY = 24 * HOUR;
export const POLICY_OFFSETS = [7 * DAY, DAY];

export function policyTick(
  database: Database,
  clock: ManualClock,
  poster: SlackPoster,
  overrides: Partial<PolicyNoticeJobDeps> = {},
) {
  return runPolicyNoticeTick({
    db: database.db,
    clock,
    poster,
    offsets: POLICY_OFFSETS,
    logger: silentLogger,
    instanceId: 'test-instance',
    channelIntervalMs: 0,
    ...overrides,
  });
}

/** A key with its own alert channel and two maintainers, created now with a rotation policy. */
export async function policyKey(services: Services, rotateEveryDays: number, channel = channelId()) {
  const name = uniqueName('pol');
  const maintainers = [
    `U${uniqueName('')
      .slice(1)
      .toUpperCase()
      .replace(/[^A-Z0-9]/g, '')}`,
    'UPOLMAINT2',
  ];
  const { key } = await services.createKey({
    name,
    maintainers,
    alertChannel: channel,
    rotateEveryDays,
    actor: cliActor,
  });
  return { id: key.id, name, channel, maintainers, dueAt: key.rotationDueAt! };
}

/**
 * A policy test's own stretch of time (era n of 3 years from 2027), with every policy key earlier
 * tests left planned taken off the scheduler's list, so they never fall due with this test's.
 */
export async function policyEra(database: Database, era: number) {
  await database.db.update(keys).set({ policyNoticesDoneAt: new Date(0) });
  const clock = manualClock(new Date(Date.UTC(2027, 0, 1) + era * 3 * 365 * DAY));
  const services = testServices(database, { clock });
  const slack = recordingPoster(clock);
  return { clock, services, slack, poster: slack.poster };
}

/** What a policy post was: a reminder with its lead time, or the overdue notice. */
export function policyPostKind(post: Post): string {
  if (post.text.includes('overdue')) return 'overdue';
  const lead = /due for rotation in (\d+ \w+)/.exec(post.text);
  return lead ? `due in ${lead[1]}` : 'other';
}

/** The Rotate… buttons a post carries: their action ids and values (key ids). */
export function rotateButtons(post: Post): Array<{ action_id: string; value: string }> {
  return (post.blocks ?? []).flatMap((b) => {
    const accessory = (b as { accessory?: { type: string; action_id: string; value: string } }).accessory;
    return accessory?.type === 'button' ? [{ action_id: accessory.action_id, value: accessory.value }] : [];
  });
}

export async function policyNotificationsOf(database: Database, keyId: string) {
  return database.db
    .select()
    .from(notifications)
    .where(and(eq(notifications.keyId, keyId)));
}
