import type { KeyRow, SecretRow } from '../../db/schema/index.ts';
import type { KeySummary, SecretView } from './types.ts';

export function toSecretView(row: SecretRow): SecretView {
  return { id: row.id, display: row.display, createdAt: row.createdAt, expiresAt: row.expiresAt };
}

export function toKeySummary(key: KeyRow, current: SecretRow | undefined, inGrace: SecretRow[]): KeySummary {
  return {
    id: key.id,
    name: key.name,
    products: key.products,
    maintainers: key.maintainers,
    alertChannel: key.alertChannel,
    rotateEveryDays: key.rotateEveryDays,
    createdAt: key.createdAt,
    lastRotatedAt: key.lastRotatedAt,
    current: current ? toSecretView(current) : null,
    inGrace: inGrace.map(toSecretView),
  };
}
