import type { Services } from '../../src/services/services.ts';
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
