import { AppError } from '../errors.ts';
import { insertAuditEvent } from '../store/audit-store.ts';
import { isUniqueViolation } from '../store/is-unique-violation.ts';
import { updateKeyFields } from '../store/keys-store.ts';
import { assertAdmin } from './authorize.ts';
import { canaryRefusal } from './canary-refusals.ts';
import {
  assertKeyFields,
  distinct,
  type KeyField,
  type KeyFields,
  keyFieldsOf,
  keyFieldsVersion,
  keyNameTaken,
} from './key-fields.ts';
import { summariseKeys } from './list-keys.ts';
import { changeLockedKey } from './lock-live-key.ts';
import type { KeyRef } from './resolve-key.ts';
import type { Actor, KeySummary, ServiceDeps } from './types.ts';

export interface EditKeyInput {
  key: KeyRef;
  actor: Actor;
  /** The fields as the person wants them; absent ones stay as they are. */
  changes: Partial<KeyFields>;
  /** `keyFieldsVersion` of the key as the person saw it: if it changed since, nothing is saved. */
  seenVersion?: string;
  /** Give up (KEY_BUSY) rather than wait longer for another change to the same key. */
  lockTimeoutMs?: number;
}

export type EditKeyResult =
  | {
      status: 'edited';
      key: KeySummary;
      /** Only the fields that changed, as they were and as they are now. */
      before: Partial<KeyFields>;
      after: Partial<KeyFields>;
      editedAt: Date;
    }
  /** Everything asked for was already so: nothing written, nothing audited or announced. */
  | { status: 'unchanged'; key: KeySummary };

/** What a maintainer who is not an admin may change on a key they maintain: its policies. */
const MAINTAINER_FIELDS: readonly KeyField[] = ['rotateEveryDays', 'onLeak'];

const sameValue = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Changes what people set on a key: its name, products, maintainers, alert channel and rotation policy;
 * never its secrets. Admins may change all of them, a key's maintainers only its rotation policy (the
 * CLI operator is trusted). Who may change what is decided inside the transaction, on the locked row,
 * from the fields that really change, so a permission removed while the dialog was open is honoured.
 * Audited with each changed field before and after. A new name or products reaches every replica's
 * verify cache through the database's own announcement (see "The verify cache across replicas" in
 * docs/architecture.md).
 */
export async function editKey(deps: ServiceDeps, input: EditKeyInput): Promise<EditKeyResult> {
  const wanted: Partial<KeyFields> = { ...input.changes };
  if (wanted.products) wanted.products = distinct(wanted.products);
  if (wanted.maintainers) wanted.maintainers = distinct(wanted.maintainers);
  if (wanted.alertChannel === '') wanted.alertChannel = null;
  assertKeyFields(wanted, { requireMaintainers: true });
  const request = {
    key: input.key,
    actor: input.actor,
    action: 'edit' as const,
    lockTimeoutMs: input.lockTimeoutMs,
  };
  try {
    const result = await changeLockedKey(deps, request, async (tx, key, now) => {
      const current = keyFieldsOf(key);
      if (input.seenVersion !== undefined && input.seenVersion !== keyFieldsVersion(current)) {
        throw keyChangedMeanwhile(key.name);
      }
      const changed = (Object.keys(wanted) as KeyField[]).filter((f) => !sameValue(wanted[f], current[f]));
      if (key.canary && changed.includes('rotateEveryDays')) throw canaryRefusal(key.name, 'policy');
      if (key.canary && changed.includes('onLeak')) throw canaryRefusal(key.name, 'on-leak');
      if (changed.some((field) => !MAINTAINER_FIELDS.includes(field))) {
        assertAdmin(input.actor, deps.admins, 'edit-key');
      }
      if (changed.length === 0) {
        const [summary] = await summariseKeys(tx, [key], now);
        return { status: 'unchanged' as const, key: summary! };
      }
      const before = pick(current, changed);
      const after = pick(wanted, changed);
      const updated = await updateKeyFields(tx, key.id, after);
      await insertAuditEvent(tx, {
        keyId: key.id,
        action: 'edit',
        actor: input.actor.id,
        source: input.actor.source,
        details: { before, after },
        createdAt: now,
      });
      const [summary] = await summariseKeys(tx, [updated], now);
      return { status: 'edited' as const, key: summary!, before, after, editedAt: now };
    });
    // No request id, so never a duplicate: a second identical submission finds nothing to change.
    if (!('key' in result)) throw new Error('an edit without a request id cannot be a duplicate');
    if (result.status === 'edited') {
      await deps.changes.publish({
        type: 'edited',
        keyId: result.key.id,
        keyName: result.key.name,
        secretHashes: [],
        actorId: input.actor.id,
      });
    }
    return result;
  } catch (error) {
    if (isUniqueViolation(error, 'keys_live_name_uq')) throw keyNameTaken(wanted.name ?? '', error);
    throw error;
  }
}

function pick(fields: Partial<KeyFields>, names: readonly KeyField[]): Partial<KeyFields> {
  return Object.fromEntries(names.map((name) => [name, fields[name]])) as Partial<KeyFields>;
}

function keyChangedMeanwhile(name: string): AppError {
  return new AppError('KEY_CHANGED', `key ${name} was edited since the dialog opened`, {
    userMessage: `Someone else changed "${name}" since you opened this dialog, so nothing was saved (it would have undone their change). Close it and press Edit… again to see the key as it is now.`,
  });
}
