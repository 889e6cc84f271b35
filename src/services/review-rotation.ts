import { type Delay, delayMs } from '../keys/delay.ts';
import { keyToManage } from './key-to-manage.ts';
import type { KeySummary, ServiceDeps } from './types.ts';

/**
 * What a rotation chosen in the dialog would do if it happened now: the key (if the person may still
 * rotate it) and when its current secret would stop working. The rotation computes it again when it
 * happens.
 */
export async function reviewRotation(
  deps: ServiceDeps,
  input: { userId: string; keyId: string; delay: Delay },
): Promise<{ key: KeySummary; expiresAt: Date }> {
  const key = await keyToManage(deps, { userId: input.userId, key: { id: input.keyId }, action: 'rotate' });
  return { key, expiresAt: new Date(deps.clock.now().getTime() + delayMs(input.delay)) };
}
