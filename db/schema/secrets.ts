import { sql } from 'drizzle-orm';
import { index, pgTable, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { at, id } from './columns.ts';
import { keys } from './keys.ts';

/**
 * One key string of a key, stored only as its SHA-256. `expires_at IS NULL` means current; once set it
 * can only move earlier (trigger `secrets_never_reinstated`), so an old secret can never come back.
 */
export const secrets = pgTable(
  'secrets',
  {
    id: id(),
    keyId: uuid('key_id')
      .notNull()
      .references(() => keys.id),
    /** SHA-256 hex of the whole token: the verify lookup. */
    hash: text('hash').notNull(),
    /** `rk_live_AbCd…wxyz`: recognisable, useless to an attacker. */
    display: text('display').notNull(),
    createdAt: at('created_at').notNull(),
    expiresAt: at('expires_at'),
    /** Set once the scheduler has announced the expiry; it never looks at this secret again. */
    retiredAt: at('retired_at'),
    /**
     * Scheduler-owned: the next instant it owes this old secret a look (a reminder, the expiry alert, a
     * retry, or a claim lease running out). Null means "not planned yet" (just rotated, or its expiry
     * moved: trigger `secrets_replan_on_expiry_change`), i.e. due at once.
     */
    nextNoticeAt: at('next_notice_at'),
    /**
     * Cutover-owned: the next instant the "every client seems to have moved" check owes this old secret
     * a look (when its last use will be REKEY_QUIET_AFTER old, or a poll while nothing is known).
     * Null means not planned yet, i.e. due at once; 9999-12-31 means settled (noticed, or it expires
     * before it can go quiet).
     */
    cutoverLookAt: at('cutover_look_at'),
  },
  (t) => [
    uniqueIndex('secrets_hash_uq').on(t.hash),
    // Exactly one current secret per key, enforced by PostgreSQL and not only by the rotation code.
    uniqueIndex('secrets_one_current_per_key_uq').on(t.keyId).where(sql`${t.expiresAt} is null`),
    // The scheduler's only question: which old secrets have not been retired yet, by expiry.
    index('secrets_in_grace_idx')
      .on(t.expiresAt)
      .where(sql`${t.expiresAt} is not null and ${t.retiredAt} is null`),
    index('secrets_key_idx').on(t.keyId),
    // The scheduler's tick: "which unretired old secrets are owed a look by now?" One range scan on this
    // index; a tick with nothing due reads no rows. The expression must match the query's exactly.
    index('secrets_notice_due_idx')
      .on(sql`coalesce(${t.nextNoticeAt}, '-infinity'::timestamptz)`)
      .where(sql`${t.expiresAt} is not null and ${t.retiredAt} is null`),
    // The cutover check's tick, like the notices': an idle tick is one range scan that reads no rows.
    index('secrets_cutover_due_idx')
      .on(sql`coalesce(${t.cutoverLookAt}, '-infinity'::timestamptz)`)
      .where(sql`${t.expiresAt} is not null and ${t.retiredAt} is null`),
  ],
);

export type SecretRow = typeof secrets.$inferSelect;
