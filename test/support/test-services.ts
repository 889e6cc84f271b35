import { randomBytes } from 'node:crypto';
import { KeyChanges } from '../../src/services/key-changes.ts';
import { createServices, type Services } from '../../src/services/services.ts';
import type { Actor } from '../../src/services/types.ts';
import type { Database } from '../../src/store/database.ts';
import { type ManualClock, manualClock } from './manual-clock.ts';

export const cliActor: Actor = { id: 'cli:test', source: 'cli' };
export const slackActor = (id: string): Actor => ({ id, source: 'slack' });

export function uniqueName(base = 'key'): string {
  return `${base}-${randomBytes(4).toString('hex')}`;
}

export function testServices(
  database: Database,
  options: { clock?: ManualClock; admins?: string[]; keyPrefix?: string } = {},
): Services & { clock: ManualClock } {
  const clock = options.clock ?? manualClock();
  const services = createServices({
    db: database.db,
    clock,
    changes: new KeyChanges((error) => {
      throw error;
    }),
    keyPrefix: options.keyPrefix ?? 'rk_live',
    admins: options.admins ?? [],
  });
  return { ...services, clock };
}
