import { randomBytes } from 'node:crypto';
import { eq, isNull, sql } from 'drizzle-orm';
import { pino } from 'pino';
import { notifications, secrets } from '../../db/schema/index.ts';
import type { Delay } from '../../src/keys/delay.ts';
import { type NoticeJobDeps, runNoticeTick } from '../../src/scheduler/notice-job.ts';
import { NOTICE_TIMING } from '../../src/scheduler/notice-timing.ts';
import type { SlackPoster } from '../../src/scheduler/slack-poster.ts';
import { heartbeat } from '../../src/services/instance-liveness.ts';
import type { Services } from '../../src/services/services.ts';
import type { Actor } from '../../src/services/types.ts';
import type { Database } from '../../src/store/database.ts';
import { createTestKey, rotateTestKey } from '../support/fixtures.ts';
import { HOUR, type ManualClock, manualClock } from '../support/manual-clock.ts';
import { cliActor, testServices, uniqueName } from '../support/test-services.ts';

export const silentLogger = pino({ level: 'silent' });
export const DEFAULT_OFFSETS = [24 * 3_600_000, 3_600_000, 10 * 60_000];

export interface Post {
  channel: string;
  text: string;
  at: Date;
  /** The Block Kit as posted (buttons included). */
  blocks?: unknown[];
}

/** A stand-in for `WebClient`: records posts; `failures` makes the next calls throw like a Slack 500. */
export function recordingPoster(clock?: ManualClock) {
  const posts: Post[] = [];
  /** Every call, failed or not, with the time it was made. */
  const calls: Post[] = [];
  let failures: Array<(channel: string) => boolean> = [];
  let refusing: ((channel: string) => boolean) | null = null;
  const poster: SlackPoster = {
    chat: {
      postMessage: async (args) => {
        calls.push({ channel: args.channel, text: args.text, at: clock?.now() ?? new Date() });
        if (refusing?.(args.channel)) {
          throw Object.assign(new Error('An API error occurred: is_archived'), {
            code: 'slack_webapi_platform_error',
            data: { ok: false, error: 'is_archived' },
          });
        }
        const fail = failures.find((f) => f(args.channel));
        if (fail) {
          failures = failures.filter((f) => f !== fail);
          throw Object.assign(new Error('An HTTP protocol error occurred: statusCode = 500'), {
            code: 'slack_webapi_http_error',
            statusCode: 500,
          });
        }
        posts.push({
          channel: args.channel,
          text: args.text,
          at: clock?.now() ?? new Date(),
          blocks: args.blocks as unknown[] | undefined,
        });
        return { ok: true };
      },
    },
  };
  return {
    poster,
    posts,
    calls,
    /** The next post to a matching channel fails once. */
    failOnce(match: (channel: string) => boolean = () => true) {
      failures.push(match);
    },
    /** Every post to a matching channel fails (an archived channel) until `refuse(null)`. */
    refuse(match: ((channel: string) => boolean) | null) {
      refusing = match;
    },
  };
}

/** A fresh Slack-shaped channel id. */
export function channelId(): string {
  return `C${randomBytes(5).toString('hex').toUpperCase()}`;
}

export function tick(
  database: Database,
  clock: ManualClock,
  poster: SlackPoster,
  overrides: Partial<NoticeJobDeps> = {},
) {
  return runNoticeTick({
    db: database.db,
    clock,
    poster,
    offsets: DEFAULT_OFFSETS,
    logger: silentLogger,
    instanceId: 'test-instance',
    channelIntervalMs: 0,
    ...overrides,
  });
}

/** A key with its own alert channel, rotated now with `delay`; returns the old secret's id and display. */
export async function rotatedKey(
  services: Services,
  delay: Delay,
  options: { actor?: Actor; channel?: string | null; name?: string } = {},
) {
  const name = options.name ?? uniqueName(`k${delay}`);
  const channel = options.channel === undefined ? channelId() : options.channel;
  const actor = options.actor ?? cliActor;
  const created = await createTestKey(services, {
    name,
    alertChannel: channel,
    maintainers: actor.source === 'slack' ? [actor.id] : ['UMAINT1'],
  });
  const rotation = await rotateTestKey(services, { name }, delay, actor);
  return {
    name,
    channel,
    oldSecretId: rotation.oldSecret.id,
    oldDisplay: rotation.oldSecret.display,
    expiresAt: rotation.oldSecret.expiresAt!,
    token: rotation.token,
    /** The old key string: what a client that did not move still sends. */
    oldToken: created.token,
  };
}

export async function notificationsOf(database: Database, secretId: string) {
  const rows = await database.db.select().from(notifications).where(eq(notifications.secretId, secretId));
  return Object.fromEntries(rows.map((r) => [r.kind, r]));
}

export async function secretRow(database: Database, secretId: string) {
  const [row] = await database.db.select().from(secrets).where(eq(secrets.id, secretId));
  return row!;
}

/** What a post said, reduced to what tests compare: reminder or alert. */
export function postKind(post: Post): 'reminder' | 'expired' | 'used_after_expiry' {
  if (post.text.includes('still sent after')) return 'used_after_expiry';
  return post.text.includes('stopped working') ? 'expired' : 'reminder';
}

/**
 * A scheduler test's own stretch of time (era n of 30 days from `startMs`), far from the others', with
 * the secrets earlier tests left unretired taken off the scheduler's list so they never fall due with
 * this test's.
 */
export async function schedulerEra(database: Database, era: number, startMs: number) {
  await database.db
    .update(secrets)
    .set({ retiredAt: new Date(0) })
    .where(isNull(secrets.retiredAt));
  const clock = manualClock(new Date(startMs + era * 30 * 24 * HOUR));
  const services = testServices(database, { clock });
  const slack = recordingPoster(clock);
  return { clock, services, slack, poster: slack.poster };
}

/**
 * `dead` stopped saying it is alive an hour ago (its row aged as if its heartbeats had stopped then),
 * and `by`'s next heartbeat finds it dead: what a real process sees 12 to 15 s after a crash. Returns
 * the instances that heartbeat found dead.
 */
export async function foundDead(database: Database, dead: string, by = 'survivor') {
  await database.db.execute(
    sql`update instances set seen_at = seen_at - interval '1 hour' where id = ${dead}`,
  );
  const { reaped } = await heartbeat(
    { db: database.db },
    { instanceId: by, deadAfterMs: NOTICE_TIMING.deadAfterMs },
  );
  return reaped;
}
