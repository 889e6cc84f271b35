import { AppError } from '../errors.ts';
import { hashToken } from '../keys/hash.ts';
import { isWellFormedToken } from '../keys/token.ts';
import { insertAuditEvent } from '../store/audit-store.ts';
import { findSecretOfLiveKeyByHash, insertLeakReportIfNew } from '../store/leak-reports-store.ts';
import { runTransaction } from '../store/run-transaction.ts';
import { reportCanaryLeak } from './canary-leaks.ts';
import { toSecretView } from './key-summary.ts';
import type { SecretView, ServiceDeps } from './types.ts';

/** Where a key string was seen. */
export type LeakPlace =
  | { kind: 'slack_message'; channel: string; messageTs: string; postedBy: string | null }
  | { kind: 'scanner'; source: string; url: string };

/** The key a leaked secret belongs to: what the notices name and who they go to. Never the key string. */
export interface LeakedKey {
  id: string;
  name: string;
  maintainers: string[];
  alertChannel: string | null;
}

/** What a surface tells people about a live key that was seen leaked (published once per report). */
export interface LeakNotice {
  key: LeakedKey;
  secret: SecretView;
  place: LeakPlace;
  reportedAt: Date;
}

export type LeakReport =
  /** Not a key of rekey's: a wrong checksum, never issued, or its key was deleted. Nothing recorded. */
  | { status: 'unknown' }
  /**
   * A key rekey issued. `reported` is false when this secret was already reported from the same
   * message or URL (an edit, a redelivery, another replica, a scanner sending it again).
   */
  | { status: 'expired' | 'live'; reported: boolean; key: LeakedKey; secret: SecretView; reportedAt: Date };

/** `slack_message` or `scanner:<source>`: how a report was found, as the audit and the table say it. */
export function foundBy(place: LeakPlace): string {
  return place.kind === 'slack_message' ? 'slack_message' : `scanner:${place.source}`;
}

const MAX_SOURCE = 100;
const MAX_URL = 2000;

/**
 * A key string was seen where others can read it. A wrong checksum is answered without the database.
 * Otherwise one transaction records the report unless this secret was already reported from the same
 * place (unique indexes, so replicas report once) and, for a secret that still works, audits
 * `leak_reported`; after the commit the report is published so the surfaces tell the key's maintainers
 * and alert channel and the key card shows it. Neither the key string nor the message is stored.
 */
export async function reportLeak(
  deps: ServiceDeps,
  input: { token: string; place: LeakPlace },
): Promise<LeakReport> {
  const { token, place } = input;
  if (place.kind === 'scanner' && (place.source.length > MAX_SOURCE || place.url.length > MAX_URL)) {
    throw new AppError('INVALID_INPUT', `source at most ${MAX_SOURCE} and url at most ${MAX_URL} characters`);
  }
  if (!isWellFormedToken(token)) return { status: 'unknown' };
  const hash = hashToken(token);
  // A canary's string: its alarm goes off, and the report is answered as for an unknown key.
  if (await reportCanaryLeak(deps, { hash, place })) return { status: 'unknown' };
  const result = await runTransaction(deps.db, async (tx) => {
    const found = await findSecretOfLiveKeyByHash(tx, hash);
    if (!found) return { status: 'unknown' as const };
    const { secret, key } = found;
    const now = deps.clock.now();
    const live = secret.expiresAt === null || secret.expiresAt > now;
    const slack = place.kind === 'slack_message' ? place : undefined;
    const row = await insertLeakReportIfNew(tx, {
      secretId: secret.id,
      keyId: key.id,
      foundBy: foundBy(place),
      channel: slack?.channel ?? null,
      messageTs: slack?.messageTs ?? null,
      postedBy: slack?.postedBy ?? null,
      url: place.kind === 'scanner' ? place.url : null,
      live,
      reportedAt: now,
    });
    if (row && live) {
      await insertAuditEvent(tx, {
        keyId: key.id,
        action: 'leak_reported',
        actor: slack ? (slack.postedBy ?? 'unknown') : foundBy(place),
        source: slack ? 'slack' : 'api',
        details: {
          secretId: secret.id,
          secret: secret.display,
          foundBy: foundBy(place),
          ...(place.kind === 'slack_message'
            ? { channel: place.channel, messageTs: place.messageTs }
            : { url: place.url }),
        },
        createdAt: now,
      });
    }
    return {
      status: live ? ('live' as const) : ('expired' as const),
      reported: row !== undefined,
      key: { id: key.id, name: key.name, maintainers: key.maintainers, alertChannel: key.alertChannel },
      secret: toSecretView(secret),
      reportedAt: now,
    };
  });
  if (result.status === 'live' && result.reported) {
    const notice: LeakNotice = {
      key: result.key,
      secret: result.secret,
      place,
      reportedAt: result.reportedAt,
    };
    await deps.changes.publish({
      type: 'leak_reported',
      keyId: result.key.id,
      keyName: result.key.name,
      secretHashes: [],
      actorId: place.kind === 'slack_message' ? (place.postedBy ?? 'unknown') : foundBy(place),
      leak: notice,
    });
  }
  return result;
}
