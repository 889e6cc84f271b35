import type { Delay } from '../../src/keys/delay.ts';
import type { KeyRef } from '../../src/services/resolve-key.ts';
import type { RotateKeyInput } from '../../src/services/rotate-key.ts';
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

/**
 * An acknowledged rotation with a fresh request id, by the CLI unless `overrides` say otherwise:
 * whatever rekey answers (or throws), for tests about refusals and outcomes.
 */
export function requestRotation(
  services: Services,
  key: KeyRef,
  delay: Delay,
  overrides: Partial<RotateKeyInput> = {},
) {
  return services.rotateKey({
    key,
    delay,
    actor: cliActor,
    acknowledged: true,
    requestId: uniqueName('req'),
    ...overrides,
  });
}

/** Rotates a key (acknowledged, a fresh request id) and fails the test unless it really rotated. */
export async function rotateTestKey(services: Services, key: KeyRef, delay: Delay, actor: Actor = cliActor) {
  const rotation = await requestRotation(services, key, delay, { actor });
  if (rotation.status !== 'rotated') throw new Error(`expected a rotation, got ${rotation.status}`);
  return rotation;
}

/**
 * A key string with one body character changed to another base62 character: still shaped like a key,
 * but its checksum no longer fits (CRC-32 catches every single-character change).
 */
export function typoOf(token: string): string {
  const at = token.length - 20;
  const swapped = token[at] === 'A' ? 'B' : 'A';
  return `${token.slice(0, at)}${swapped}${token.slice(at + 1)}`;
}
