import type { SecretClient } from '../services/client-uses.ts';
import type { KeyUsage, SecretHourlyUse } from '../services/key-usage.ts';
import type { KeyWithUse, SecretWithUse } from '../services/show-key-with-use.ts';
import type { AuditEntry, KeySummary } from '../services/types.ts';

const iso = (d: Date | null) => (d ? d.toISOString() : 'never');

/** The lines under a secret in `keys show`: is it still being sent, and by whom? */
function useLines(secret: SecretWithUse): string[] {
  if (!secret.lastUsedAt) return ['                never used'];
  const { lastHour, last24h } = secret.uses;
  const lines = [
    `                last used ${iso(secret.lastUsedAt)}; ${calls(lastHour)} in the last hour, ${calls(last24h)} in the last 24 hours`,
  ];
  const shown = secret.clients.slice(0, CLIENTS_IN_SHOW);
  if (shown.length > 0) {
    lines.push(
      `                by (last 24 hours): ${shown.map(clientPhrase).join('; ')}${more(secret.clientCount - shown.length)}`,
    );
  }
  return lines;
}

const CLIENTS_IN_SHOW = 3;
const more = (n: number) => (n > 0 ? `; and ${n} more` : '');

/** `10.0.3.7 python-requests/2.31 (1200 calls, last 2026-…Z)`; the unknown client says so. */
function clientPhrase(client: SecretClient): string {
  return `${clientName(client)} (${calls(client.uses)}, last ${iso(client.lastUsedAt)})`;
}

/** Address and user agent; `unknown client` when the gateway passed neither. */
export function clientName(client: Pick<SecretClient, 'ip' | 'userAgent'>): string {
  if (client.ip === null && client.userAgent === null) return 'unknown client';
  return [client.ip ?? 'no address', client.userAgent ?? 'no user agent'].join(' ');
}

const calls = (n: number) => `${n} call${n === 1 ? '' : 's'}`;

const DAY_MS = 86_400_000;

/** Whole days, or hours under a day: how far a due date is from now. */
function span(ms: number): string {
  const days = Math.floor(ms / DAY_MS);
  if (days >= 1) return `${days} day${days === 1 ? '' : 's'}`;
  const hours = Math.floor(ms / 3_600_000);
  return hours >= 1 ? `${hours} hour${hours === 1 ? '' : 's'}` : 'less than an hour';
}

/** `every 90d; due 2026-04-01T…Z (in 12 days)`, `…; OVERDUE since … (by 3 days)` or `no rotation policy`. */
export function formatPolicy(
  key: Pick<KeySummary, 'rotateEvery' | 'rotationDueAt' | 'overdue'>,
  now: Date,
): string {
  if (!key.rotateEvery || !key.rotationDueAt) return 'no rotation policy';
  const due = key.rotationDueAt;
  const gap = due.getTime() - now.getTime();
  return key.overdue
    ? `every ${key.rotateEvery}; OVERDUE since ${iso(due)} (by ${span(-gap)})`
    : `every ${key.rotateEvery}; due ${iso(due)} (in ${span(gap)})`;
}

export function formatKey(key: KeyWithUse, now: Date): string {
  if (key.canary) return formatCanary(key);
  const lines = [
    `${key.name}`,
    `  products:     ${key.products.join(', ') || '—'}`,
    `  maintainers:  ${key.maintainers.join(', ') || '—'}`,
    `  channel:      ${key.alertChannel ?? '—'}`,
    `  current key:  ${key.current?.display ?? '—'}`,
    ...(key.current ? useLines(key.current) : []),
    `  last rotated: ${iso(key.lastRotatedAt)}`,
    `  rotation:     ${formatPolicy(key, now)}`,
    `  on leak:      ${key.onLeak ?? 'notify'}`,
  ];
  for (const old of key.inGrace) {
    const minutes = Math.max(0, Math.round((old.expiresAt!.getTime() - now.getTime()) / 60_000));
    lines.push(`  old key:      ${old.display} stops working ${iso(old.expiresAt)} (in ${minutes} min)`);
    lines.push(...useLines(old));
  }
  return lines.join('\n');
}

/** `keys show` of a canary: what it is, where its alarms go, when it was last tried. */
function formatCanary(key: KeyWithUse): string {
  return [
    `${key.name}`,
    '  canary:       yes: a decoy key, never valid (answered NOT_FOUND); every use raises an alarm',
    `  maintainers:  ${key.maintainers.join(', ') || '—'}`,
    `  channel:      ${key.alertChannel ?? '—'}`,
    `  key:          ${key.current?.display ?? '—'}`,
    `  last tried:   ${iso(key.lastTriedAt ?? null)}`,
  ].join('\n');
}

export function formatKeyLine(key: KeySummary): string {
  if (key.canary) return `${key.name.padEnd(24)} ${key.current?.display ?? '—'}  CANARY (decoy key)`;
  const grace = key.inGrace.length > 0 ? `  (${key.inGrace.length} old key in grace)` : '';
  const overdue = key.overdue ? '  ROTATION OVERDUE' : '';
  return `${key.name.padEnd(24)} ${key.current?.display ?? '—'}  last rotated ${iso(key.lastRotatedAt)}${grace}${overdue}`;
}

export function formatAudit(entry: AuditEntry): string {
  const parts = [entry.at.toISOString(), entry.action.padEnd(9), `by ${entry.actor} via ${entry.source}`];
  if (entry.delay) parts.push(`delay ${entry.delay}`);
  if (entry.oldSecretDisplay) parts.push(`old ${entry.oldSecretDisplay}`);
  if (entry.newSecretDisplay) parts.push(`new ${entry.newSecretDisplay}`);
  const details = entry.details ?? {};
  if (entry.action === 'policy') {
    parts.push(`rotation policy ${details.before ?? 'none'} → ${details.after ?? 'none'}`);
  } else if (typeof details.rotateEvery === 'string') {
    parts.push(`rotation policy ${details.rotateEvery}`);
  }
  if (details.canary === true) parts.push('canary (decoy key)');
  return parts.join('  ');
}

function describeSecret(secret: SecretHourlyUse): string {
  if (secret.status === 'active') return 'current key';
  if (secret.status === 'expiring') return `old key, stops working ${iso(secret.expiresAt)}`;
  return `old key, stopped working ${iso(secret.expiresAt)}`;
}

/** `2026-03-01T10:00:00.000Z` → `2026-03-01 10:00` */
const hourLabel = (hour: Date) => hour.toISOString().slice(0, 16).replace('T', ' ');

/**
 * `keys usage`: a legend of the key's secrets, then one row per clock hour (newest first) and one
 * column per secret, so the old key's calls can be read against the new one's hour by hour.
 */
export function formatKeyUsage(usage: KeyUsage): string {
  const window = usage.hours === 1 ? 'the current hour' : `the last ${usage.hours} hours`;
  const title = `Calls to "${usage.name}" per clock hour (UTC), newest first: ${window}.`;
  if (usage.secrets.length === 0)
    return `${title}

The key has no working key and none was sent in that time.`;
  const descriptions = usage.secrets.map(describeSecret);
  const describedWidth = Math.max(...descriptions.map((d) => d.length));
  const legend = usage.secrets.map(
    (secret, i) =>
      `  ${secret.display}  ${descriptions[i]!.padEnd(describedWidth)}  ${secret.lastUsedAt ? `last used ${iso(secret.lastUsedAt)}` : 'never used'}`,
  );
  const cell = (h: { uses: number; expiredUses: number }) =>
    h.expiredUses > 0 ? `${h.uses} (${h.expiredUses} refused)` : String(h.uses);
  const columns = usage.secrets.map((secret) => {
    const cells = secret.hours.map(cell);
    const width = Math.max(secret.display.length, ...cells.map((c) => c.length));
    return { header: secret.display.padStart(width), cells: cells.map((c) => c.padStart(width)) };
  });
  const rows = usage.secrets[0]!.hours.map(
    (h, row) => `${hourLabel(h.hour)}  ${columns.map((c) => c.cells[row]).join('  ')}`,
  );
  const anyRefused = usage.secrets.some((s) => s.hours.some((h) => h.expiredUses > 0));
  return [
    title,
    '',
    ...legend,
    '',
    ...sparklines(usage.secrets, describedWidth, descriptions),
    '',
    `${'hour (UTC)'.padEnd(16)}  ${columns.map((c) => c.header).join('  ')}`,
    ...rows,
    '',
    ...(anyRefused ? ['refused: calls made after that key had stopped working (answered EXPIRED).'] : []),
    ...usage.secrets.flatMap((secret, i) => clientTable(secret, descriptions[i]!)),
    'Each replica writes its counts every REKEY_USAGE_FLUSH (10s by default): the last few seconds may not show yet.',
  ].join('\n');
}

/**
 * The last 24 hours of every secret, one line each, aligned so the old key's fading and the new one's
 * rise read side by side. Each line is scaled to its own busiest hour, printed after it.
 */
function sparklines(secrets: SecretHourlyUse[], describedWidth: number, descriptions: string[]): string[] {
  const displayWidth = Math.max(...secrets.map((s) => s.display.length));
  return [
    'Last 24 hours, oldest to newest (· no calls; each line scaled to its own busiest hour):',
    ...secrets.map(
      (secret, i) =>
        `  ${secret.display.padEnd(displayWidth)}  ${descriptions[i]!.padEnd(describedWidth)}  ${secret.sparkline}  ${secret.peak > 0 ? `busiest hour ${calls(secret.peak)}` : 'no calls'}`,
    ),
  ];
}

/** `--clients`: who presented this secret within the window, most calls first. */
function clientTable(secret: SecretHourlyUse, description: string): string[] {
  if (!secret.clients) return [];
  const title = `Clients of ${secret.display} (${description}), most calls first:`;
  if (secret.clients.length === 0) return [title, '  none recorded in this window', ''];
  const ips = secret.clients.map((c) => c.ip ?? (c.userAgent === null ? 'unknown client' : '—'));
  const agents = secret.clients.map((c) => c.userAgent ?? '—');
  const counts = secret.clients.map((c) => String(c.uses));
  const ipWidth = Math.max('address'.length, ...ips.map((t) => t.length));
  const agentWidth = Math.min(60, Math.max('user agent'.length, ...agents.map((t) => t.length)));
  const countWidth = Math.max('calls'.length, ...counts.map((t) => t.length));
  const cut = (text: string) => (text.length > agentWidth ? `${text.slice(0, agentWidth - 1)}…` : text);
  return [
    title,
    `  ${'address'.padEnd(ipWidth)}  ${'user agent'.padEnd(agentWidth)}  ${'calls'.padStart(countWidth)}  last call`,
    ...secret.clients.map(
      (c, i) =>
        `  ${ips[i]!.padEnd(ipWidth)}  ${cut(agents[i]!).padEnd(agentWidth)}  ${counts[i]!.padStart(countWidth)}  ${iso(c.lastUsedAt)}`,
    ),
    ...((secret.clientCount ?? 0) > secret.clients.length
      ? [`  and ${secret.clientCount! - secret.clients.length} more`]
      : []),
    '',
  ];
}
