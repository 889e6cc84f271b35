import type { KeyRow } from '../../db/schema/index.ts';
import { AppError } from '../errors.ts';
import { mayManageKey } from '../keys/authorization.ts';
import type { Actor } from './types.ts';

/**
 * Slack users must maintain the key or be an admin; checked inside the transaction that changes the key,
 * so a permission removed between the modal opening and the final click is honoured.
 * The CLI runs with database access, which already is full authority.
 */
export function assertMayManage(actor: Actor, key: KeyRow, admins: readonly string[]): void {
  if (actor.source === 'cli') return;
  if (mayManageKey(actor.id, key.maintainers, admins)) return;
  throw new AppError('FORBIDDEN', `${actor.id} may not manage key ${key.name}`, {
    userMessage: `You are not a maintainer of "${key.name}". Ask one of its maintainers or a rekey admin to rotate it, or to add you as a maintainer.`,
  });
}
