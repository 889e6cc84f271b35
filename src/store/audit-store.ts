import { asc, eq } from 'drizzle-orm';
import { type AuditEventRow, auditEvents } from '../../db/schema/index.ts';
import type { DbOrTx } from './database.ts';

export type NewAuditEvent = typeof auditEvents.$inferInsert;

export async function insertAuditEvent(tx: DbOrTx, values: NewAuditEvent): Promise<AuditEventRow> {
  const [row] = await tx.insert(auditEvents).values(values).returning();
  return row!;
}

export async function findAuditEventByRequestId(
  db: DbOrTx,
  requestId: string,
): Promise<AuditEventRow | undefined> {
  const [row] = await db.select().from(auditEvents).where(eq(auditEvents.requestId, requestId)).limit(1);
  return row;
}

/** A key's history, oldest first. */
export async function listAuditEvents(db: DbOrTx, keyId: string): Promise<AuditEventRow[]> {
  return db.select().from(auditEvents).where(eq(auditEvents.keyId, keyId)).orderBy(asc(auditEvents.seq));
}
