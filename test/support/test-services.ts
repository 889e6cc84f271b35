import { randomBytes } from 'node:crypto';
import { KeyChanges } from '../../src/services/key-changes.ts';
import { createServices, type Services } from '../../src/services/services.ts';
import type { Actor } from '../../src/services/types.ts';
import type { Database, Db } from '../../src/store/database.ts';
import { type ManualClock, manualClock } from './manual-clock.ts';

export const cliActor: Actor = { id: 'cli:test', source: 'cli' };
export const slackActor = (id: string): Actor => ({ id, source: 'slack' });

export function uniqueName(base = 'key'): string {
  return `${base}-${randomBytes(4).toString('hex')}`;
}

export function testServices(
  database: Database,
  options: {
    clock?: ManualClock;
    admins?: string[];
    keyPrefix?: string;
    /** A handle to use instead of `database.db`, e.g. one a test can make fail. */
    db?: Db;
    changes?: KeyChanges;
  } = {},
): Services & { clock: ManualClock } {
  const clock = options.clock ?? manualClock();
  const services = createServices({
    db: options.db ?? database.db,
    clock,
    changes:
      options.changes ??
      new KeyChanges((error) => {
        throw error;
      }),
    keyPrefix: options.keyPrefix ?? 'rk_live',
    admins: options.admins ?? [],
  });
  return { ...services, clock };
}
