import type { Db } from '../store/database.ts';
import { beatInstance, deleteInstance, type Heartbeat, touchInstance } from '../store/instances-store.ts';

/*
 * Who holds a notice claim, and whether it is still alive (docs/architecture.md#notices-exactly-once).
 * Liveness is judged by the database's clock, never by the application Clock: it is not a business
 * decision, every replica must agree on it, and tests move the application Clock by hours.
 */

export type { Heartbeat } from '../store/instances-store.ts';

/** Says `instanceId` is alive and deletes instances not heard from for `deadAfterMs`, releasing their claims. */
export function heartbeat(
  deps: { db: Db },
  input: { instanceId: string; deadAfterMs: number },
): Promise<Heartbeat> {
  return beatInstance(deps.db, input.instanceId, input.deadAfterMs);
}

/** Makes sure `instanceId` has its row (a claimer without a heartbeat of its own). True if created. */
export function registerInstance(deps: { db: Db }, instanceId: string): Promise<boolean> {
  return touchInstance(deps.db, instanceId);
}

/** The instance goes; every claim it still holds is released, its subject due again, schedulers woken. */
export function retireInstance(deps: { db: Db }, instanceId: string): Promise<void> {
  return deleteInstance(deps.db, instanceId);
}
