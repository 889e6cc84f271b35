import type { AuditEntry, KeySummary } from '../services/types.ts';

const iso = (d: Date | null) => (d ? d.toISOString() : 'never');

export function formatKey(key: KeySummary, now: Date): string {
  const lines = [
    `${key.name}`,
    `  products:     ${key.products.join(', ') || '—'}`,
    `  maintainers:  ${key.maintainers.join(', ') || '—'}`,
    `  channel:      ${key.alertChannel ?? '—'}`,
    `  current key:  ${key.current?.display ?? '—'}`,
    `  last rotated: ${iso(key.lastRotatedAt)}`,
  ];
  for (const old of key.inGrace) {
    const minutes = Math.max(0, Math.round((old.expiresAt!.getTime() - now.getTime()) / 60_000));
    lines.push(`  old key:      ${old.display} stops working ${iso(old.expiresAt)} (in ${minutes} min)`);
  }
  return lines.join('\n');
}

export function formatKeyLine(key: KeySummary): string {
  const grace = key.inGrace.length > 0 ? `  (${key.inGrace.length} old key in grace)` : '';
  return `${key.name.padEnd(24)} ${key.current?.display ?? '—'}  last rotated ${iso(key.lastRotatedAt)}${grace}`;
}

export function formatAudit(entry: AuditEntry): string {
  const parts = [entry.at.toISOString(), entry.action.padEnd(9), `by ${entry.actor} via ${entry.source}`];
  if (entry.delay) parts.push(`delay ${entry.delay}`);
  if (entry.oldSecretDisplay) parts.push(`old ${entry.oldSecretDisplay}`);
  if (entry.newSecretDisplay) parts.push(`new ${entry.newSecretDisplay}`);
  return parts.join('  ');
}
