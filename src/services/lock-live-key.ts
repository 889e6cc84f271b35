import type { KeyRow } from '../../db/schema/index.ts';
import { AppError } from '../errors.ts';
import { findAuditEventByRequestId } from '../store/audit-store.ts';
import type { DbOrTx } from '../store/database.ts';
import { isUniqueViolation } from '../store/is-unique-violation.ts';
import { lockKeyById } from '../store/keys-store.ts';
import { isLockTimeout, setLockTimeout } from '../store/lock-timeout.ts';
import { runTransaction } from '../store/run-transaction.ts';
import { assertMayManage, type KeyAction } from './authorize.ts';
import { findLiveKeyOrThrow, type KeyRef, keyDeleted, keyNotFound } from './resolve-key.ts';
import type { Actor, ServiceDeps } from './types.ts';

/** Who wants to change which key, and how that request is recognised if it comes twice. */
export interface KeyChangeRequest {
  key: KeyRef;
  actor: Actor;
  action: KeyAction;
  /** Same id twice → one change (double clicks, retried requests); recorded in the audit row. */
  requestId?: string;
  /**
   * Give up (KEY_BUSY, nothing changed) rather than wait longer than this for another change to the
   * same key to finish: a Slack answer has 3 s in all.
   */
  lockTimeoutMs?: number;
}

/** The request id was seen before: nothing changed and nothing is revealed again. */
export type DuplicateRequest = { status: 'duplicate'; keyName: string };

export function keyBusy(): AppError {
  return new AppError('KEY_BUSY', 'Another change to this key is in progress', {
    userMessage: 'Someone else is changing this key right now. Nothing was changed.',
    retryable: true,
  });
}

/**
 * The start of every change to a key, inside its transaction: find the live key, lock its row
 * (`FOR UPDATE`), and only then read the clock, look for the request id and check who may change it.
 * The lock serialises changes to one key, so everything after it sees the latest committed state and
 * changes happen in lock order, in time too.
 */
export async function lockLiveKey(
  tx: DbOrTx,
  deps: Pick<ServiceDeps, 'clock' | 'admins'>,
  request: KeyChangeRequest,
): Promise<{ key: KeyRow; now: Date } | DuplicateRequest> {
  if (request.lockTimeoutMs) await setLockTimeout(tx, request.lockTimeoutMs);
  const found = await findLiveKeyOrThrow(tx, request.key);
  const key = await lockKeyById(tx, found.id);
  if (!key) throw keyNotFound(request.key);
  // Another delete may have committed while this one waited for the lock.
  if (key.deletedAt) throw keyDeleted(key.name);
  const now = deps.clock.now();
  if (request.requestId && (await findAuditEventByRequestId(tx, request.requestId))) {
    return { status: 'duplicate', keyName: key.name };
  }
  assertMayManage(request.actor, key, deps.admins, request.action);
  return { key, now };
}

/**
 * One transaction that changes one key: `lockLiveKey`, then `change` on the locked row. A lock wait
 * past `lockTimeoutMs` is KEY_BUSY; the same request id arriving twice at once (the audit row's unique
 * index decides between them) is a duplicate, like one found by `lockLiveKey`.
 */
export async function changeLockedKey<T>(
  deps: ServiceDeps,
  request: KeyChangeRequest,
  change: (tx: DbOrTx, key: KeyRow, now: Date) => Promise<T>,
): Promise<T | DuplicateRequest> {
  try {
    return await runTransaction(deps.db, async (tx) => {
      const locked = await lockLiveKey(tx, deps, request);
      if ('status' in locked) return locked;
      return change(tx, locked.key, locked.now);
    });
  } catch (error) {
    if (request.requestId && isUniqueViolation(error, 'audit_events_request_id_uq')) {
      return { status: 'duplicate', keyName: 'name' in request.key ? request.key.name : '' };
    }
    if (isLockTimeout(error)) throw keyBusy();
    throw error;
  }
}
