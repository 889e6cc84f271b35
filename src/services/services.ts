import { type CreateKeyInput, createKey } from './create-key.ts';
import { deleteKey } from './delete-key.ts';
import { type EndGraceInput, endGrace } from './end-grace.ts';
import { keyAudit } from './key-audit.ts';
import { keyUsage } from './key-usage.ts';
import { listKeys, listKeysManageableBy, showKey } from './list-keys.ts';
import type { KeyRef } from './resolve-key.ts';
import { type RotateKeyInput, rotateKey } from './rotate-key.ts';
import { showKeyWithUse } from './show-key-with-use.ts';
import type { Actor, ServiceDeps } from './types.ts';
import { createVerifier } from './verify-key.ts';

/** The use cases, bound to their dependencies once in main.ts; every adapter calls these. */
export function createServices(deps: ServiceDeps) {
  return {
    deps,
    changes: deps.changes,
    clock: deps.clock,
    createKey: (input: CreateKeyInput) => createKey(deps, input),
    rotateKey: (input: RotateKeyInput) => rotateKey(deps, input),
    endGrace: (input: EndGraceInput) => endGrace(deps, input),
    deleteKey: (input: { key: KeyRef; actor: Actor }) => deleteKey(deps, input),
    listKeys: () => listKeys(deps),
    listKeysManageableBy: (userId: string) => listKeysManageableBy(deps, userId),
    showKey: (ref: KeyRef) => showKey(deps, ref),
    keyAudit: (ref: KeyRef) => keyAudit(deps, ref),
    showKeyWithUse: (ref: KeyRef) => showKeyWithUse(deps, ref),
    keyUsage: (input: { key: KeyRef; hours?: number }) => keyUsage(deps, input),
    verifyKey: createVerifier(deps),
  };
}

export type Services = ReturnType<typeof createServices>;
