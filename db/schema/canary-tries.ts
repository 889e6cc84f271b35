import { sql } from 'drizzle-orm';
import { check, index, integer, jsonb, pgTable, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { at, id } from './columns.ts';
import { keys } from './keys.ts';
import { notifications } from './notifications.ts';

/**
 * How a canary was tried: presented to the verify API or to a gateway's authorize question, or seen
 * leaked (a Slack message, a scanner's finding). `unrecorded`: tries counted while the in-memory queue
 * was full, kept as a count without details.
 */
export type CanaryVia = 'verify' | 'authorize' | 'slack_message' | 'scanner' | 'unrecorded';

/** Where a canary was seen leaked (leak reports only). */
export type CanaryPlace =
  | { kind: 'slack_message'; channel: string; messageTs: string; postedBy: string | null }
  | { kind: 'scanner'; source: string; url: string };

/**
 * One row per presentation of a canary key (or a count of them, `count`): what its alarm tells
 * people. Written off the request path by the replica that saw it; delivered by the notice engine as
 * a `canary_tried` notification, which `alarm_id` links once a try has been told. The key string is
 * never stored; the client's address, user agent and URI are whatever the gateway passed on.
 */
export const canaryTries = pgTable(
  'canary_tries',
  {
    id: id(),
    keyId: uuid('key_id')
      .notNull()
      .references(() => keys.id),
    triedAt: at('tried_at').notNull(),
    via: text('via').$type<CanaryVia>().notNull(),
    /** Presentations this row stands for: 1, or more for an `unrecorded` count. */
    count: integer('count').notNull().default(1),
    clientIp: text('client_ip'),
    userAgent: text('user_agent'),
    /** authorize: the original request's URI and method, as the gateway passed them on. */
    uri: text('uri'),
    method: text('method'),
    /** Which of REKEY_API_TOKENS asked (its position and a short fingerprint), never the token. */
    askedBy: text('asked_by'),
    place: jsonb('place').$type<CanaryPlace>(),
    /** Leak reports: one try per message or URL, however often it is redelivered or edited. */
    dedupeKey: text('dedupe_key'),
    /** The `canary_tried` notification that told of it; null while it waits to be told. */
    alarmId: uuid('alarm_id').references(() => notifications.id),
  },
  (t) => [
    uniqueIndex('canary_tries_dedupe_uq').on(t.dedupeKey),
    // The alarm claim's question: this canary's tries not told yet.
    index('canary_tries_untold_idx').on(t.keyId).where(sql`${t.alarmId} is null`),
    index('canary_tries_alarm_idx').on(t.alarmId),
    // "Last tried" on the card and in `keys show`.
    index('canary_tries_key_time_idx').on(t.keyId, t.triedAt),
    check('canary_tries_count_positive', sql`${t.count} >= 1`),
  ],
);

export type CanaryTryRow = typeof canaryTries.$inferSelect;
