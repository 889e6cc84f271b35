import type { KeyRow } from '../../db/schema/index.ts';
import { AppError } from '../errors.ts';
import { mayManageKey } from '../keys/authorization.ts';
import type { Actor } from './types.ts';

/** What a person tried to do with a key, for the sentence that refuses it. */
export type KeyAction = 'rotate' | 'end-grace' | 'history' | 'edit' | 'delete' | 'policy';

const REFUSED: Record<KeyAction, string> = {
  rotate: 'you cannot rotate it. Nothing was changed.',
  'end-grace': 'you cannot end its grace period. Nothing was changed.',
  history: 'rekey does not show you its history.',
  edit: 'you cannot change it. Nothing was changed.',
  delete: 'you cannot delete it. Nothing was changed.',
  policy: 'you cannot change its rotation policy. Nothing was changed.',
};

/** What only rekey admins (REKEY_ADMINS) may do from Slack; maintainers may do the rest to their keys. */
export type AdminAction = 'create' | 'delete' | 'edit-key';

const ADMINS_ONLY: Record<AdminAction, string> = {
  create: 'Only rekey admins can create keys.',
  delete: 'Only rekey admins can delete keys.',
  'edit-key':
    'Only rekey admins can change a key’s name, products, maintainers or alert channel; as a maintainer you can change its rotation policy.',
};

export function isAdminOnly(action: KeyAction): action is 'delete' {
  return action === 'delete';
}

/** The refusal for a Slack user who is not (or no longer) a rekey admin. */
export function notAdmin(action: AdminAction): AppError {
  return new AppError('FORBIDDEN', `only admins may ${action}`, {
    userMessage: `${ADMINS_ONLY[action]} Nothing was changed. Ask a rekey admin.`,
  });
}

/** Slack users must be admins; checked at the step that makes the change. The CLI operator is trusted. */
export function assertAdmin(actor: Actor, admins: readonly string[], action: AdminAction): void {
  if (actor.source === 'cli' || admins.includes(actor.id)) return;
  throw notAdmin(action);
}

/**
 * The one refusal for a key the person was shown (on their Home, in the rotation dialog) but may no
 * longer manage. Naming its maintainers is fine here: the person saw this key as theirs.
 */
export function notMaintainer(key: Pick<KeyRow, 'name' | 'maintainers'>, action: KeyAction): AppError {
  const maintainers = key.maintainers.map((m) => `<@${m}>`).join(', ') || 'none yet';
  return new AppError('FORBIDDEN', `may not ${action} key ${key.name}`, {
    userMessage: `You are no longer a maintainer of "${key.name}", so ${REFUSED[action]} Ask one of its maintainers (${maintainers}) or a rekey admin.`,
  });
}

/**
 * The refusal for someone who never maintained the key but reached it from a message everyone in a
 * channel sees (a leak alert's "Rotate now…"): who can act, so they can be asked.
 */
export function notAMaintainer(key: Pick<KeyRow, 'name' | 'maintainers'>, action: KeyAction): AppError {
  const maintainers = key.maintainers.map((m) => `<@${m}>`).join(', ') || 'none yet';
  const verb = action === 'rotate' ? 'rotate' : 'manage';
  return new AppError('FORBIDDEN', `may not ${action} key ${key.name}`, {
    userMessage: `Only the maintainers of "${key.name}" (${maintainers}) and rekey admins can ${verb} it. Nothing was changed. Ask one of them to press ${action === 'end-grace' ? 'End this key now' : 'Rotate now'}.`,
  });
}

/**
 * Slack users must maintain the key or be an admin; checked inside the transaction that changes the key,
 * so a permission removed between the modal opening and the final click is honoured.
 * The CLI runs with database access, which already is full authority.
 */
export function assertMayManage(
  actor: Actor,
  key: Pick<KeyRow, 'name' | 'maintainers'>,
  admins: readonly string[],
  action: KeyAction,
): void {
  if (actor.source === 'cli') return;
  if (isAdminOnly(action)) {
    assertAdmin(actor, admins, action);
    return;
  }
  if (mayManageKey(actor.id, key.maintainers, admins)) return;
  throw notMaintainer(key, action);
}

/**
 * The one answer to a person naming a key they may not manage: the same words whether the key exists,
 * was deleted or was never created, so asking by name reveals nothing about keys outside their Home.
 */
export function noKeyOfYours(name: string, action: KeyAction): AppError {
  const verb = action === 'rotate' ? 'rotate' : 'manage';
  return new AppError('FORBIDDEN', `no key named ${name} that the user may ${verb}`, {
    userMessage: `There is no key named "${name}" that you may ${verb}. Nothing was changed. Check the name against the keys you maintain (your rekey Home lists them), or ask a rekey admin.`,
  });
}
