import type { Services } from '../services/services.ts';
import { DEMO_KEYS, DEMO_USERS } from './demo-workspace.ts';

/** The actor of the demo keys' creation: how local mode recognises the keys it made itself. */
export const LOCAL_SEED_ACTOR = 'local:seed';

/**
 * First start in local mode: create the demo keys so the page is useful at once. Their key strings
 * are printed to the terminal once (like `rekey keys create`), never logged.
 */
export async function seedDemoKeys(services: Services, print: (text: string) => void): Promise<boolean> {
  if ((await services.listKeys()).length > 0) return false;
  const lines = ['', 'Local mode: created demo keys (shown once; this is a local simulation):'];
  for (const spec of DEMO_KEYS) {
    const { key, token } = await services.createKey({
      ...spec,
      products: [...spec.products],
      maintainers: [...spec.maintainers],
      actor: { id: LOCAL_SEED_ACTOR, source: 'cli' },
    });
    const owners = key.maintainers.map((id) => DEMO_USERS.find((u) => u.id === id)?.name ?? id).join(', ');
    lines.push(`  ${key.name.padEnd(14)} ${token}   maintainers: ${owners}`);
  }
  lines.push('');
  print(lines.join('\n'));
  return true;
}
