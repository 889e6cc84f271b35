import type { Delay } from '../../src/keys/delay.ts';
import type { Services } from '../../src/services/services.ts';
import type { Actor } from '../../src/services/types.ts';
import { cliActor, uniqueName } from './test-services.ts';

/** A key with two maintainers and an alert channel, plus its first key string. */
export async function createTestKey(
  services: Services,
  overrides: {
    name?: string;
    maintainers?: string[];
    products?: string[];
    alertChannel?: string | null;
  } = {},
) {
  return services.createKey({
    name: overrides.name ?? uniqueName(),
    products: overrides.products ?? ['payments-api', 'billing'],
    maintainers: overrides.maintainers ?? ['UMAINT1', 'UMAINT2'],
    alertChannel: overrides.alertChannel === undefined ? 'CALERTS' : overrides.alertChannel,
    actor: cliActor,
  });
}

/** Rotates a key (acknowledged, a fresh request id) and fails the test unless it really rotated. */
export async function rotateTestKey(
  services: Services,
  key: { id: string } | { name: string },
  delay: Delay,
  actor: Actor = cliActor,
) {
  const rotation = await services.rotateKey({
    key,
    delay,
    actor,
    acknowledged: true,
    requestId: uniqueName('req'),
  });
  if (rotation.status !== 'rotated') throw new Error(`expected a rotation, got ${rotation.status}`);
  return rotation;
}
