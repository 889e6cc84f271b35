import { listAuditEvents } from '../store/audit-store.ts';
import { withDatabaseErrors } from '../store/database-errors.ts';
import { findSecretsOfKey } from '../store/secrets-store.ts';
import { findLiveKeyOrThrow, type KeyRef } from './resolve-key.ts';
import type { AuditEntry, ServiceDeps } from './types.ts';

/** A key's history, oldest first, with secrets shown by their display form. */
export function keyAudit(deps: ServiceDeps, ref: KeyRef): Promise<{ keyName: string; events: AuditEntry[] }> {
  return withDatabaseErrors(() => readAudit(deps, ref));
}

async function readAudit(deps: ServiceDeps, ref: KeyRef): Promise<{ keyName: string; events: AuditEntry[] }> {
  const key = await findLiveKeyOrThrow(deps.db, ref);
  const [events, secrets] = await Promise.all([
    listAuditEvents(deps.db, key.id),
    findSecretsOfKey(deps.db, key.id),
  ]);
  const display = new Map(secrets.map((s) => [s.id, s.display]));
  return {
    keyName: key.name,
    events: events.map((e) => ({
      id: e.id,
      action: e.action,
      actor: e.actor,
      source: e.source,
      delay: e.delay,
      oldSecretDisplay: e.oldSecretId ? (display.get(e.oldSecretId) ?? null) : null,
      newSecretDisplay: e.newSecretId ? (display.get(e.newSecretId) ?? null) : null,
      requestId: e.requestId,
      details: e.details ?? null,
      at: e.createdAt,
    })),
  };
}
