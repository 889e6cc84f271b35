import type { AuditSource } from '../../db/schema/index.ts';
import type { Clock } from '../clock.ts';
import type { Delay } from '../keys/delay.ts';
import type { OnLeak } from '../keys/on-leak.ts';
import type { Db } from '../store/database.ts';
import type { KeyChanges } from './key-changes.ts';

/** Who is acting, and through which surface. Slack actors are authorised; the CLI operator is trusted. */
export interface Actor {
  id: string;
  source: AuditSource;
}

export interface ServiceDeps {
  db: Db;
  clock: Clock;
  changes: KeyChanges;
  keyPrefix: string;
  admins: readonly string[];
}

export interface SecretView {
  id: string;
  display: string;
  createdAt: Date;
  expiresAt: Date | null;
}

/** Everything a surface may show about a key. Never a key string. */
export interface KeySummary {
  id: string;
  name: string;
  products: string[];
  maintainers: string[];
  alertChannel: string | null;
  /** Rotation policy: due this many days after the last rotation (or creation); null for none. */
  rotateEveryDays: number | null;
  createdAt: Date;
  lastRotatedAt: Date | null;
  /** Rotation policy as written (`90d`); null: none. */
  rotateEvery: string | null;
  /** When the policy wants the key rotated next (src/keys/rotation-policy.ts); null without a policy. */
  rotationDueAt: Date | null;
  /** Past that date as of when this summary was made (never for a canary: it has no policy). */
  overdue: boolean;
  /**
   * What rekey does by itself when a working secret of the key is reported leaked (src/keys/on-leak.ts).
   * Always set by toKeySummary (so `keys list/show --json` give it); optional only for hand-made summaries.
   */
  onLeak?: OnLeak;
  /**
   * A decoy key: never valid, answered like an unknown key, every use an alarm (never rotated). Always
   * set by toKeySummary (so `--json` gives it for every key); absent reads as false.
   */
  canary?: boolean;
  current: SecretView | null;
  /** Old secrets still working, soonest expiry first. */
  inGrace: SecretView[];
}

export type RotationResult =
  | {
      status: 'rotated';
      /** The new key string. Shown once to the requester; never stored, logged or broadcast. */
      token: string;
      key: KeySummary;
      oldSecret: SecretView;
      newSecret: SecretView;
      delay: Delay;
      rotatedAt: Date;
      auditId: string;
    }
  /** The request id was seen before: nothing changed and nothing is revealed again. */
  | { status: 'duplicate'; keyName: string };

export interface AuditEntry {
  id: string;
  action: string;
  actor: string;
  source: string;
  delay: string | null;
  oldSecretDisplay: string | null;
  newSecretDisplay: string | null;
  requestId: string | null;
  /** What else the event recorded: a policy change's or an edit's `{ before, after }`, a creation's `rotateEvery`. */
  details: Record<string, unknown> | null;
  at: Date;
}
