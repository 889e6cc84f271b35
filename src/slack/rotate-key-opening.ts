import type { ModalView } from '@slack/types';
import { LEAK_ROTATION_NOTE } from './blocks/leak-messages.ts';
import { buildErrorMessage, type SlackMessage } from './blocks/messages.ts';
import { buildRotateKeyModal } from './blocks/rotate-key-modal.ts';
import type { SlackDeps } from './deps.ts';

export type RotateKeyOpening = { view: ModalView } | { message: SlackMessage };

/**
 * Step 1 of a rotation, for every way in: `/rotate-key [name]` and App Home's "Rotate…" (with the key's
 * id). Lists only the keys the user may rotate, read now, so a stale Home or an old habit cannot reach a
 * key they no longer maintain. A named key they may not rotate throws the services' refusal, which
 * says what to do; having no key at all is a message. `leaked` (a leak's "Rotate now…", pressed by
 * anyone who saw the alert) chooses Immediately and says why.
 */
export async function prepareRotateKeyModal(
  deps: SlackDeps,
  userId: string,
  wanted: { name?: string; keyId?: string; leaked?: boolean } = {},
): Promise<RotateKeyOpening> {
  const ref = wanted.keyId !== undefined ? { id: wanted.keyId } : wanted.name ? { name: wanted.name } : null;
  const named = ref
    ? await deps.services.keyToManage({
        userId,
        key: ref,
        action: 'rotate',
        ...(wanted.leaked ? { stranger: true } : {}),
      })
    : undefined;
  // A canary is never rotated: it is on the Home, never in the picker.
  const keys = (await deps.services.listKeysManageableBy(userId)).filter((key) => !key.canary);
  if (keys.length === 0) {
    return {
      message: buildErrorMessage(
        'You do not maintain any key, so there is nothing you can rotate. Ask a key’s maintainer or a rekey admin to add you as a maintainer (`rekey keys create … --maintainers`), then run `/rotate-key` again.',
      ),
    };
  }
  const leak = wanted.leaked ? { initialDelay: 'now' as const, note: LEAK_ROTATION_NOTE } : {};
  return { view: buildRotateKeyModal({ keys, selectedKeyId: named?.id, privateMetadata: '', ...leak }) };
}
