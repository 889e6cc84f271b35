import type { AuditSource, KeyRow, SecretRow } from '../../db/schema/index.ts';
import { endGraceExpiry } from '../keys/rotation.ts';
import { generateToken } from '../keys/token.ts';
import { insertAuditEvent } from '../store/audit-store.ts';
import type { DbOrTx } from '../store/database.ts';
import { hasLeakAction, setLeakReportAction } from '../store/leak-reports-store.ts';
import { setSecretExpiry } from '../store/secrets-store.ts';
import { replaceCurrentSecret } from './replace-current-secret.ts';
import type { ServiceDeps } from './types.ts';

/** The actor of everything rekey does by itself. */
export const REKEY_ACTOR = 'rekey';

/** What rekey did by itself about a leaked secret. */
export interface Containment {
  /** `rotated`: the leaked current secret was replaced; `ended`: the leaked old secret stopped now. */
  action: 'rotated' | 'ended';
  /** When the leaked secret stops (stopped) working. */
  leakedStopsAt: Date;
  /** For the verify caches of this process; other replicas hear it from the database. */
  leakedHash: string;
  /** `rotated`: the new current secret, whose string nobody has been shown (see revealNewKey). */
  hiddenSecretId?: string;
}

/**
 * Automatic containment, inside the report's transaction on the locked key
 * (docs/architecture.md#leak-response). With `on_leak` = `rotate-1h` or `rotate-now`, a leaked current
 * secret is rotated (one hour of grace, or none) and a leaked old secret in its grace period ends now.
 * Acts once per secret: the first report of it acts (a unique index on reports with an action makes
 * sure across replicas), later reports of the same secret only tell people.
 *
 * The new key of an automatic rotation is never shown and its string is thrown away at once: nobody
 * can ask for it, so it is never stored in plaintext. The first maintainer who presses **Reveal the new
 * key** gets a fresh one in its place (revealNewKey), which nobody else has ever seen either.
 */
export async function containLeak(
  tx: DbOrTx,
  deps: Pick<ServiceDeps, 'keyPrefix'>,
  input: { key: KeyRow; secret: SecretRow; reportId: string; source: AuditSource; now: Date },
): Promise<Containment | undefined> {
  const { key, secret, now } = input;
  if (key.onLeak === 'notify' || (await hasLeakAction(tx, secret.id))) return undefined;
  const actor = { id: REKEY_ACTOR, source: input.source };
  const details = { leakReportId: input.reportId, automatic: key.onLeak };
  if (secret.expiresAt === null) {
    const replaced = await replaceCurrentSecret(tx, {
      key,
      now,
      delay: key.onLeak === 'rotate-now' ? 'now' : '1h',
      actor,
      requestId: `leak:${input.reportId}`,
      // Generated only to be discarded: see revealNewKey for how a maintainer gets a key.
      fresh: generateToken(deps.keyPrefix),
      details: { ...details, newKeyShown: false },
    });
    await setLeakReportAction(tx, input.reportId, 'rotated');
    return {
      action: 'rotated',
      leakedStopsAt: replaced.oldExpiry,
      leakedHash: secret.hash,
      hiddenSecretId: replaced.fresh.id,
    };
  }
  const stopsAt = endGraceExpiry(now, secret.expiresAt);
  await setSecretExpiry(tx, secret.id, stopsAt);
  await insertAuditEvent(tx, {
    keyId: key.id,
    action: 'end_grace',
    actor: actor.id,
    source: actor.source,
    oldSecretId: secret.id,
    requestId: `leak:${input.reportId}`,
    details: { ...details, endedSecretIds: [secret.id] },
    createdAt: now,
  });
  await setLeakReportAction(tx, input.reportId, 'ended');
  return { action: 'ended', leakedStopsAt: stopsAt, leakedHash: secret.hash };
}
