import type { KeyRow, SecretRow } from '../../db/schema/index.ts';
import { formatRotateEvery, isOverdue, rotationDueAt } from '../keys/rotation-policy.ts';
import type { KeySummary, SecretView } from './types.ts';

export function toSecretView(row: SecretRow): SecretView {
  return { id: row.id, display: row.display, createdAt: row.createdAt, expiresAt: row.expiresAt };
}

/** The key as surfaces show it, its policy's due date and overdue state as of `now`. */
export function toKeySummary(
  key: KeyRow,
  current: SecretRow | undefined,
  inGrace: SecretRow[],
  now: Date,
): KeySummary {
  return {
    id: key.id,
    name: key.name,
    products: key.products,
    maintainers: key.maintainers,
    alertChannel: key.alertChannel,
    rotateEveryDays: key.rotateEveryDays,
    createdAt: key.createdAt,
    lastRotatedAt: key.lastRotatedAt,
    rotateEvery: formatRotateEvery(key.rotateEveryDays),
    rotationDueAt: rotationDueAt(key),
    overdue: isOverdue(key, now),
    onLeak: key.onLeak,
    canary: key.canary,
    current: current ? toSecretView(current) : null,
    inGrace: inGrace.map(toSecretView),
  };
}
