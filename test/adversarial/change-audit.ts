import { createHash } from 'node:crypto';
import { asc } from 'drizzle-orm';
import { auditEvents, keys, secrets } from '../../db/schema/index.ts';
import { TOKEN_LIKE } from '../../src/keys/token.ts';
import type { Db } from '../../src/store/database.ts';

/** The part of the key store that a person's request may change: keys, secrets and the audit trail. */
export interface StoreState {
  keys: Map<string, KeyState>;
  secrets: Map<string, { keyId: string; hash: string; expiresAt: number | null }>;
  audit: AuditRow[];
}

interface KeyState {
  name: string;
  products: string[];
  maintainers: string[];
  alertChannel: string | null;
  rotateEveryDays: number | null;
  lastRotatedAt: number | null;
  deletedAt: number | null;
}

interface AuditRow {
  id: string;
  keyId: string;
  action: string;
  actor: string;
  source: string;
  newSecretId: string | null;
  details: Record<string, unknown> | null;
}

const ms = (at: Date | null) => (at ? at.getTime() : null);

export async function readStore(db: Db): Promise<StoreState> {
  // In a fixed order: an update moves a row within its table, and a reading must not differ for that.
  const keyRows = await db.select().from(keys).orderBy(asc(keys.id));
  const secretRows = await db.select().from(secrets).orderBy(asc(secrets.id));
  const auditRows = await db.select().from(auditEvents).orderBy(asc(auditEvents.seq));
  return {
    keys: new Map(
      keyRows.map((k) => [
        k.id,
        {
          name: k.name,
          products: k.products,
          maintainers: k.maintainers,
          alertChannel: k.alertChannel,
          rotateEveryDays: k.rotateEveryDays,
          lastRotatedAt: ms(k.lastRotatedAt),
          deletedAt: ms(k.deletedAt),
        },
      ]),
    ),
    secrets: new Map(
      secretRows.map((s) => [s.id, { keyId: s.keyId, hash: s.hash, expiresAt: ms(s.expiresAt) }]),
    ),
    audit: auditRows.map((a) => ({
      id: a.id,
      keyId: a.keyId,
      action: a.action,
      actor: a.actor,
      source: a.source,
      newSecretId: a.newSecretId,
      details: a.details ?? null,
    })),
  };
}

/** Which fields of a key differ between two readings. */
function changedFields(before: KeyState | undefined, after: KeyState): string[] {
  if (!before) return ['created'];
  return (Object.keys(after) as (keyof KeyState)[]).filter(
    (field) => JSON.stringify(before[field]) !== JSON.stringify(after[field]),
  );
}

/**
 * What changed between two readings that `actor` (a Slack user id) was not allowed to change, or that
 * no audit row of theirs accounts for. The rules are the README's: a key's maintainers and the admins
 * may rotate it and end its grace; only admins create, delete and edit a key's fields, and a
 * maintainer may change only its rotation policy; every change is audited as its actor's, from Slack.
 */
export function forbiddenChanges(
  before: StoreState,
  after: StoreState,
  actor: string,
  admins: readonly string[],
): string[] {
  const problems: string[] = [];
  const seen = new Set(before.audit.map((a) => a.id));
  const added = after.audit.filter((a) => !seen.has(a.id));
  if (after.audit.length !== before.audit.length + added.length) problems.push('audit rows disappeared');
  const isAdmin = admins.includes(actor);
  const auditedKeys = new Set<string>();
  for (const row of added) {
    auditedKeys.add(row.keyId);
    const what = `${row.action} of ${row.keyId} by ${row.actor} (${row.source})`;
    if (row.actor !== actor || row.source !== 'slack') {
      problems.push(`${what}: audited as someone other than ${actor} from Slack`);
      continue;
    }
    const key = before.keys.get(row.keyId);
    const maintains = key !== undefined && key.deletedAt === null && key.maintainers.includes(actor);
    switch (row.action) {
      case 'rotate':
      case 'end_grace':
        if (!maintains && !isAdmin) problems.push(`${what}: not a maintainer of the key nor an admin`);
        if (key?.deletedAt !== null && key !== undefined) problems.push(`${what}: the key was deleted`);
        break;
      case 'create':
      case 'delete':
        if (!isAdmin) problems.push(`${what}: only admins may`);
        break;
      case 'edit': {
        const fields = changedFields(key, after.keys.get(row.keyId)!);
        if (!isAdmin && !(maintains && fields.every((f) => f === 'rotateEveryDays')))
          problems.push(`${what}: changed ${fields.join(', ')}`);
        break;
      }
      default:
        problems.push(`${what}: no Slack request may do this`);
    }
  }
  for (const [id, key] of after.keys) {
    const fields = changedFields(before.keys.get(id), key);
    if (fields.length > 0 && !auditedKeys.has(id))
      problems.push(`key ${id}: ${fields.join(', ')} changed, unaudited`);
  }
  for (const [id, secret] of after.secrets) {
    const old = before.secrets.get(id);
    const changed = !old || old.expiresAt !== secret.expiresAt || old.keyId !== secret.keyId;
    if (changed && !auditedKeys.has(secret.keyId)) problems.push(`secret ${id}: changed, unaudited`);
    if (old && old.expiresAt !== null && (secret.expiresAt === null || secret.expiresAt > old.expiresAt))
      problems.push(`secret ${id}: its expiry moved later`);
  }
  for (const id of before.secrets.keys()) if (!after.secrets.has(id)) problems.push(`secret ${id}: deleted`);
  return problems;
}

/** The invariants of the store itself, whatever happened: one current secret per live key. */
export function storeInvariants(state: StoreState): string[] {
  const problems: string[] = [];
  for (const [id, key] of state.keys) {
    const current = [...state.secrets.values()].filter((s) => s.keyId === id && s.expiresAt === null);
    if (key.deletedAt === null && current.length !== 1)
      problems.push(`live key ${id} has ${current.length} current secrets`);
  }
  return problems;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** The real key strings (their hash is a secret's) in some text, with the secret each belongs to. */
export function realKeyStrings(text: string, state: StoreState): Array<{ token: string; secretId: string }> {
  const byHash = new Map([...state.secrets].map(([id, s]) => [s.hash, id]));
  const found: Array<{ token: string; secretId: string }> = [];
  for (const match of text.matchAll(new RegExp(TOKEN_LIKE.source, 'g'))) {
    const secretId = byHash.get(sha256(match[0]));
    if (secretId) found.push({ token: match[0], secretId });
  }
  return found;
}

/** The secret that `actor`'s own new audit row (a rotation or a creation) brought into being, if any. */
export function secretsMadeBy(before: StoreState, after: StoreState, actor: string): Set<string> {
  const seen = new Set(before.audit.map((a) => a.id));
  return new Set(
    after.audit
      .filter(
        (a) =>
          !seen.has(a.id) &&
          a.actor === actor &&
          a.newSecretId &&
          (a.action === 'rotate' || a.action === 'create'),
      )
      .map((a) => a.newSecretId!),
  );
}
