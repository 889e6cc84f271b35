import type { ModalView } from '@slack/types';
import { buildErrorMessage, type SlackMessage } from './blocks/messages.ts';
import { buildRotateKeyModal } from './blocks/rotate-key-modal.ts';
import type { SlackDeps } from './deps.ts';

export type RotateKeyOpening = { view: ModalView } | { message: SlackMessage };

/**
 * Step 1 of a rotation, for every way in: `/rotate-key [name]` and App Home's "Rotate…" (with the key's
 * id). Lists only the keys the user may rotate, read now, so a stale Home or an old habit cannot reach a
 * key they no longer maintain; every dead end is a message saying what to do.
 */
export async function prepareRotateKeyModal(
  deps: SlackDeps,
  userId: string,
  wanted: { name?: string; keyId?: string } = {},
): Promise<RotateKeyOpening> {
  const keys = await deps.services.listKeysManageableBy(userId);
  const asked = wanted.keyId !== undefined || wanted.name !== undefined;
  const named = keys.find(
    (k) => k.id === wanted.keyId || (wanted.name !== undefined && k.name === wanted.name),
  );
  if (asked && !named) {
    // Throws "no such key" or "deleted" when that is the truth; otherwise the key exists but is not theirs.
    const key = await deps.services.showKey(wanted.keyId ? { id: wanted.keyId } : { name: wanted.name! });
    const maintainers = key.maintainers.map((m) => `<@${m}>`).join(', ') || 'none yet';
    const notMaintainer =
      wanted.keyId !== undefined
        ? `You are no longer a maintainer of "${key.name}", so you cannot rotate it. Nothing was changed.`
        : `You are not a maintainer of "${key.name}", so you cannot rotate it.`;
    return {
      message: buildErrorMessage(
        `${notMaintainer} Ask one of its maintainers (${maintainers}) or a rekey admin.`,
      ),
    };
  }
  if (keys.length === 0) {
    return {
      message: buildErrorMessage(
        'You do not maintain any key, so there is nothing you can rotate. Ask a key’s maintainer or a rekey admin to add you as a maintainer (`rekey keys create … --maintainers`), then run `/rotate-key` again.',
      ),
    };
  }
  return { view: buildRotateKeyModal({ keys, selectedKeyId: named?.id, privateMetadata: '' }) };
}
