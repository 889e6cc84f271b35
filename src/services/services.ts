import type { Delay } from '../keys/delay.ts';
import { type CreateKeyInput, createKey, createKeyOnce } from './create-key.ts';
import { type DeleteKeyInput, deleteKey } from './delete-key.ts';
import { type EditKeyInput, editKey } from './edit-key.ts';
import { type EndGraceInput, endGrace } from './end-grace.ts';
import { keyAudit } from './key-audit.ts';
import { type KeyToManageInput, keyToManage } from './key-to-manage.ts';
import { keyUsage } from './key-usage.ts';
import {
  anyLeakNoticeDue,
  claimNextLeakNotice,
  completeLeakNotice,
  giveBackLeakNotice,
  releaseLeakNoticeForRetry,
} from './leak-outbox.ts';
import { audienceOf, homeOf, listKeys, listKeysManageableBy, showKey } from './list-keys.ts';
import { type LeakFinding, reportLeak, reportLeaks } from './report-leak.ts';
import type { KeyRef } from './resolve-key.ts';
import { type RevealNewKeyInput, revealNewKey } from './reveal-new-key.ts';
import { reviewRotation } from './review-rotation.ts';
import { type RotateKeyInput, rotateKey } from './rotate-key.ts';
import { type SetRotationPolicyInput, setRotationPolicy } from './set-rotation-policy.ts';
import { showKeyWithUse } from './show-key-with-use.ts';
import type { ServiceDeps } from './types.ts';
import type { VerifyCache } from './verify-cache.ts';
import { createLocalVerifyCache } from './verify-key.ts';

/** The use cases, bound to their dependencies once in main.ts; every adapter calls these. */
export function createServices(deps: ServiceDeps & { verifyCache?: VerifyCache }) {
  // One verifier: the cached one the verify API serves, so what the service tests check is what runs.
  const verifyCache = deps.verifyCache ?? createLocalVerifyCache(deps);
  return {
    deps,
    changes: deps.changes,
    clock: deps.clock,
    createKey: (input: CreateKeyInput) => createKey(deps, input),
    /** For Slack: a double-clicked submit (same request id) creates one key and reveals it once. */
    createKeyOnce: (input: CreateKeyInput & { requestId: string }) => createKeyOnce(deps, input),
    editKey: (input: EditKeyInput) => editKey(deps, input),
    rotateKey: (input: RotateKeyInput) => rotateKey(deps, input),
    endGrace: (input: EndGraceInput) => endGrace(deps, input),
    deleteKey: (input: DeleteKeyInput) => deleteKey(deps, input),
    setRotationPolicy: (input: SetRotationPolicyInput) => setRotationPolicy(deps, input),
    listKeys: () => listKeys(deps),
    listKeysManageableBy: (userId: string) => listKeysManageableBy(deps, userId),
    showKey: (ref: KeyRef) => showKey(deps, ref),
    /** For Slack: the key if this user may manage it, else the one refusal (FORBIDDEN) to show them. */
    keyToManage: (input: KeyToManageInput) => keyToManage(deps, input),
    /** REKEY_ADMINS: may create, edit and delete any key (and rotate any). */
    isAdmin: (userId: string) => deps.admins.includes(userId),
    reviewRotation: (input: { userId: string; keyId: string; delay: Delay }) => reviewRotation(deps, input),
    homeOf: (userId: string) => homeOf(deps, userId),
    audienceOf: (keyId: string) => audienceOf(deps, keyId),
    keyAudit: (ref: KeyRef) => keyAudit(deps, ref),
    showKeyWithUse: (ref: KeyRef) => showKeyWithUse(deps, ref),
    keyUsage: (input: { key: KeyRef; hours?: number; clients?: boolean }) => keyUsage(deps, input),
    /** A key string seen where others can read it (a Slack message, a scanner's finding). */
    reportLeak: (input: LeakFinding) => reportLeak(deps, input),
    /** Many key strings at once (a message's, a scanner's batch): one lookup for all of them. */
    reportLeaks: (findings: LeakFinding[]) => reportLeaks(deps, findings),
    /** The leak outbox (docs/architecture.md#leak-response): what is owed, claimed and recorded. */
    leakOutbox: {
      anyDue: () => anyLeakNoticeDue(deps),
      claimNext: (by: string) => claimNextLeakNotice(deps, by),
      complete: (id: string, by: string) => completeLeakNotice(deps, id, by),
      giveBack: (id: string, by: string) => giveBackLeakNotice(deps, id, by),
      release: (input: Parameters<typeof releaseLeakNoticeForRetry>[1]) =>
        releaseLeakNoticeForRetry(deps, input),
    },
    /** Reveal the new key of an automatic rotation: a fresh key in its place, shown to the first presser. */
    revealNewKey: (input: RevealNewKeyInput) => revealNewKey(deps, input),
    verifyKey: verifyCache.verify,
    verifyCache,
  };
}

export type Services = ReturnType<typeof createServices>;
