import { sql } from 'drizzle-orm';
import { boolean, check, index, integer, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { at, id } from './columns.ts';

/** A named credential. Rotation changes only `last_rotated_at`; everything else is the key's identity. */
export const keys = pgTable(
  'keys',
  {
    id: id(),
    name: text('name').notNull(),
    products: text('products').array().notNull().default(sql`'{}'::text[]`),
    /** Slack user ids allowed to rotate this key. */
    maintainers: text('maintainers').array().notNull().default(sql`'{}'::text[]`),
    alertChannel: text('alert_channel'),
    createdAt: at('created_at').notNull(),
    lastRotatedAt: at('last_rotated_at'),
    /** Rotation policy: the key is due for rotation this many days after its last rotation (or creation). */
    rotateEveryDays: integer('rotate_every_days'),
    /**
     * Scheduler-owned, like `secrets.next_notice_at`: the next instant it owes this key's policy a look (a
     * reminder, the overdue notice, a retry, a claim's lease running out). Null means "plan at once": set
     * so when the due date moves (trigger `keys_replan_policy_notices`).
     */
    nextPolicyNoticeAt: at('next_policy_notice_at'),
    /** Set once the overdue notice for the current due date is out: nothing more is owed until it moves. */
    policyNoticesDoneAt: at('policy_notices_done_at'),
    /**
     * What rekey does by itself when a working secret of this key is reported leaked
     * (docs/architecture.md#leak-response): `notify` (tell people), `rotate-1h` or `rotate-now`.
     */
    onLeak: text('on_leak').$type<'notify' | 'rotate-1h' | 'rotate-now'>().notNull().default('notify'),
    /** Soft delete: a deleted key verifies as NOT_FOUND and cannot be rotated, but its history stays. */
    deletedAt: at('deleted_at'),
    /**
     * A decoy key (honeytoken): never valid, answered like an unknown key everywhere, every use an
     * alarm. Fixed at creation: trigger `keys_canary_fixed` refuses turning a canary into a working key
     * or back.
     */
    canary: boolean('canary').notNull().default(false),
    /**
     * Scheduler-owned, canaries only: the next instant their alarm is owed a look (a try waiting to be
     * told, the end of the 10-minute quiet window, a retry, a claim's lease running out). Null: nothing
     * waiting. Set by whoever records a try (src/store/canary-store.ts).
     */
    canaryAlarmAt: at('canary_alarm_at'),
  },
  (t) => [
    // A name is what /rotate-key and the CLI address a key by, so it must be unambiguous among live keys.
    uniqueIndex('keys_live_name_uq').on(t.name).where(sql`${t.deletedAt} is null`),
    // The same names src/keys/on-leak.ts accepts, so no writer can store a policy nobody can read.
    check('keys_on_leak_known', sql`${t.onLeak} in ('notify', 'rotate-1h', 'rotate-now')`),
    // The same range src/keys/rotation-policy.ts accepts, so no writer can store a policy nobody can read.
    check('keys_rotate_every_days_range', sql`${t.rotateEveryDays} between 1 and 730`),
    // A canary is never rotated, so a rotation policy would only make it "overdue" for ever.
    check('keys_canary_has_no_rotation_policy', sql`not (${t.canary} and ${t.rotateEveryDays} is not null)`),
    // The canary alarm sweep's question, "which canaries are owed a look by now?": one range scan over
    // the few canaries with something waiting.
    index('keys_canary_alarm_due_idx').on(t.canaryAlarmAt).where(sql`${t.canaryAlarmAt} is not null`),
    // The policy tick's question, "which live keys with a policy are owed a look by now?": one range
    // scan, and a tick with nothing due reads no rows. The expression must match the query's exactly.
    index('keys_policy_notice_due_idx')
      .on(sql`coalesce(${t.nextPolicyNoticeAt}, '-infinity'::timestamptz)`)
      .where(
        sql`${t.rotateEveryDays} is not null and ${t.deletedAt} is null and ${t.policyNoticesDoneAt} is null`,
      ),
  ],
);

export type KeyRow = typeof keys.$inferSelect;
