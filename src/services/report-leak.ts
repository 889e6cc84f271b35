import type { KeyRow, SecretRow } from '../../db/schema/index.ts';
import { AppError } from '../errors.ts';
import { hashToken } from '../keys/hash.ts';
import { isWellFormedToken, withoutKeyStrings } from '../keys/token.ts';
import { insertAuditEvent } from '../store/audit-store.ts';
import type { DbOrTx } from '../store/database.ts';
import { withDatabaseErrors } from '../store/database-errors.ts';
import { lockKeyById } from '../store/keys-store.ts';
import {
  findSecretById,
  findSecretsOfLiveKeysByHashes,
  insertLeakReportIfNew,
} from '../store/leak-reports-store.ts';
import { runTransaction } from '../store/run-transaction.ts';
import { reportCanaryLeak } from './canary-leaks.ts';
import { type Containment, containLeak } from './contain-leak.ts';
import { toSecretView } from './key-summary.ts';
import { scheduleLeakNotices } from './leak-outbox.ts';
import type { SecretView, ServiceDeps } from './types.ts';

/** Where a key string was seen. */
export type LeakPlace =
  | { kind: 'slack_message'; channel: string; messageTs: string; threadTs?: string; postedBy: string | null }
  | { kind: 'scanner'; source: string; url: string };

/** One key string seen somewhere. */
export interface LeakFinding {
  token: string;
  place: LeakPlace;
}

/** The key a leaked secret belongs to. Never the key string. */
export interface LeakedKey {
  id: string;
  name: string;
  maintainers: string[];
  alertChannel: string | null;
}

export type LeakReport =
  /** Not a key of rekey's: a wrong checksum, never issued, or its key was deleted. Nothing recorded. */
  | { status: 'unknown' }
  /**
   * A key rekey issued. `reported` is false when this secret was already reported from the same
   * message or URL (an edit, a redelivery, another replica, a scanner sending it again).
   */
  | {
      status: 'expired' | 'live';
      reported: boolean;
      key: LeakedKey;
      secret: SecretView;
      reportedAt: Date;
      /** What rekey did by itself, per the key's on_leak policy (only on a new report of a live secret). */
      contained?: Containment;
    };

/** `slack_message` or `scanner:<source>`: how a report was found, as the audit and the table say it. */
export function foundBy(place: LeakPlace): string {
  return place.kind === 'slack_message' ? 'slack_message' : `scanner:${place.source}`;
}

/** Who reported it, as the messages name them: `<@U…>`, or `scanner:<source>`. */
export function reporterOf(place: LeakPlace): string {
  if (place.kind === 'scanner') return foundBy(place);
  return place.postedBy ? `<@${place.postedBy}>` : 'someone';
}

const MAX_SOURCE = 100;
const MAX_URL = 2000;

/**
 * Key strings seen where others can read them (a Slack message, a scanner's findings), answered in
 * order. Bounded work whatever arrives: a wrong checksum is answered without the database; every
 * remaining string is looked up in ONE statement (`hash = any($1)`); a report transaction runs only for
 * strings that really are rekey's keys (docs/architecture.md#leak-response).
 */
export async function reportLeaks(deps: ServiceDeps, findings: LeakFinding[]): Promise<LeakReport[]> {
  for (const { place } of findings) {
    if (place.kind === 'scanner' && (place.source.length > MAX_SOURCE || place.url.length > MAX_URL)) {
      throw new AppError(
        'INVALID_INPUT',
        `source at most ${MAX_SOURCE} and url at most ${MAX_URL} characters`,
      );
    }
  }
  // A scanner's URL may hold the key string itself (a query string, a paste's address): kept without it.
  const places = findings.map(
    ({ place }): LeakPlace =>
      place.kind === 'scanner'
        ? { ...place, url: withoutKeyStrings(place.url), source: withoutKeyStrings(place.source) }
        : place,
  );
  const hashes = findings.map((f) => (isWellFormedToken(f.token) ? hashToken(f.token) : null));
  const wanted = [...new Set(hashes.filter((h): h is string => h !== null))];
  if (wanted.length === 0) return findings.map(() => ({ status: 'unknown' }));
  const found = await withDatabaseErrors(() => findSecretsOfLiveKeysByHashes(deps.db, wanted));
  const byHash = new Map(found.map((row) => [row.hash, row]));
  const reports: LeakReport[] = [];
  for (const [i, place] of places.entries()) {
    const row = hashes[i] ? byHash.get(hashes[i]) : undefined;
    if (!row) reports.push({ status: 'unknown' });
    // A canary's string: its alarm goes off, and the report is answered as for an unknown key.
    else if (row.canary) reports.push(await reportCanaryLeak(deps, { ...row, place }));
    else reports.push(await reportOne(deps, row.secretId, row.keyId, place));
  }
  return reports;
}

/** One key string: `reportLeaks` for a single finding. */
export async function reportLeak(deps: ServiceDeps, finding: LeakFinding): Promise<LeakReport> {
  const [report] = await reportLeaks(deps, [finding]);
  return report!;
}

/**
 * One transaction per real key string. The key's row is locked first (`FOR UPDATE`), so reports of one
 * key, rotations and automatic containment happen one after the other on the latest state; then the
 * clock is read. The report row is inserted with `ON CONFLICT DO NOTHING` under its unique indexes:
 * whoever inserts it owns the report, so a redelivery, an edit or another replica does nothing more.
 * A new report of a working secret is audited, contained per the key's policy, and what must be told
 * is written to the outbox (leak-outbox.ts) in this same transaction.
 */
async function reportOne(
  deps: ServiceDeps,
  secretId: string,
  keyId: string,
  place: LeakPlace,
): Promise<LeakReport> {
  const result = await runTransaction(deps.db, async (tx) => {
    const key = await lockKeyById(tx, keyId);
    const secret = await findSecretById(tx, secretId);
    if (!key || key.deletedAt || !secret) return { status: 'unknown' as const };
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
    let contained: Containment | undefined;
    if (row && live) {
      await auditReport(tx, { key, secret, place, reportId: row.id, now });
      contained = await containLeak(tx, deps, {
        key,
        secret,
        reportId: row.id,
        source: slack ? 'slack' : 'api',
        now,
      });
    }
    if (row) {
      await scheduleLeakNotices(tx, {
        report: row,
        key,
        live,
        reporter: reporterOf(place),
        thread: slack ? { channel: slack.channel, ts: slack.threadTs ?? slack.messageTs } : undefined,
        now,
      });
    }
    return {
      status: live ? ('live' as const) : ('expired' as const),
      reported: row !== undefined,
      key: { id: key.id, name: key.name, maintainers: key.maintainers, alertChannel: key.alertChannel },
      secret: toSecretView(secret),
      reportedAt: now,
      ...(contained ? { contained } : {}),
    };
  });
  if (result.status !== 'unknown' && result.reported) await publishReport(deps, result, place);
  return result;
}

async function auditReport(
  tx: DbOrTx,
  input: { key: KeyRow; secret: SecretRow; place: LeakPlace; reportId: string; now: Date },
): Promise<void> {
  const { key, secret, place } = input;
  const slack = place.kind === 'slack_message' ? place : undefined;
  await insertAuditEvent(tx, {
    keyId: key.id,
    action: 'leak_reported',
    actor: slack ? (slack.postedBy ?? 'unknown') : foundBy(place),
    source: slack ? 'slack' : 'api',
    details: {
      leakReportId: input.reportId,
      secretId: secret.id,
      secret: secret.display,
      foundBy: foundBy(place),
      ...(slack
        ? { channel: slack.channel, messageTs: slack.messageTs }
        : { url: place.kind === 'scanner' ? place.url : null }),
    },
    createdAt: input.now,
  });
}

/**
 * After the commit: the outbox's deliverer in this process is woken at once (a `leak_reported` change),
 * the key's cards are refreshed, and an automatic containment drops the cached verdicts of the secret
 * it changed here (other replicas hear of it from the database's own announcement).
 */
async function publishReport(
  deps: ServiceDeps,
  report: Extract<LeakReport, { status: 'live' | 'expired' }>,
  place: LeakPlace,
): Promise<void> {
  const actorId = place.kind === 'slack_message' ? (place.postedBy ?? 'unknown') : foundBy(place);
  const { key, contained } = report;
  if (contained) {
    await deps.changes.publish({
      type: contained.action === 'rotated' ? 'rotated' : 'grace_ended',
      keyId: key.id,
      keyName: key.name,
      secretHashes: [contained.leakedHash],
      actorId: 'rekey',
    });
  }
  await deps.changes.publish({
    type: 'leak_reported',
    keyId: key.id,
    keyName: key.name,
    secretHashes: [],
    actorId,
  });
}
