import { bigint, index, jsonb, pgTable, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { at, id } from './columns.ts';
import { keys } from './keys.ts';
import { secrets } from './secrets.ts';

/**
 * `policy`: the rotation policy changed (the CLI's `keys policy`); `details` holds `{ before, after }`
 * (`"90d"` or null). `edit`: fields changed from Slack's Edit…; `details` holds `{ before, after }` with
 * only the changed fields.
 */
/**
 * `leak_reported`: a working key string was found in a channel or by a scanner (source `api`).
 * `reveal`: the never-shown key of an automatic rotation was replaced by one shown to `actor`.
 */
export type AuditAction =
  | 'create'
  | 'rotate'
  | 'end_grace'
  | 'edit'
  | 'delete'
  | 'policy'
  | 'leak_reported'
  | 'reveal';
export type AuditSource = 'slack' | 'cli' | 'api';

/** Append-only history of every change to a key (trigger `audit_events_append_only`). */
export const auditEvents = pgTable(
  'audit_events',
  {
    id: id(),
    /** Insertion order, for a history that reads in order even when events share a timestamp. */
    seq: bigint('seq', { mode: 'number' }).generatedAlwaysAsIdentity(),
    keyId: uuid('key_id')
      .notNull()
      .references(() => keys.id),
    action: text('action').$type<AuditAction>().notNull(),
    actor: text('actor').notNull(),
    source: text('source').$type<AuditSource>().notNull(),
    delay: text('delay'),
    oldSecretId: uuid('old_secret_id').references(() => secrets.id),
    newSecretId: uuid('new_secret_id').references(() => secrets.id),
    /** Idempotency: a repeated request id finds this row and does nothing (a double click rotates once). */
    requestId: text('request_id'),
    details: jsonb('details').$type<Record<string, unknown>>(),
    createdAt: at('created_at').notNull(),
  },
  (t) => [
    uniqueIndex('audit_events_request_id_uq').on(t.requestId),
    index('audit_events_key_seq_idx').on(t.keyId, t.seq),
    index('audit_events_old_secret_idx').on(t.oldSecretId),
  ],
);

export type AuditEventRow = typeof auditEvents.$inferSelect;
