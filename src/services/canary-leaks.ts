import type { CanaryPlace } from '../../db/schema/index.ts';
import { findCanaryByHash, insertCanaryTries } from '../store/canary-store.ts';
import { withDatabaseErrors } from '../store/database-errors.ts';
import type { ServiceDeps } from './types.ts';

/**
 * A key string seen leaked (a Slack message, a scanner's finding) that is a canary's: its alarm is raised
 * like any other try, and the report goes on as for an unknown key (no thread reply, `false_positive`),
 * so whoever posted or scanned it learns nothing. True when it was a canary. Once per message or URL:
 * a redelivered event or an edit finds the try already recorded.
 */
export function reportCanaryLeak(
  deps: Pick<ServiceDeps, 'db' | 'clock'>,
  input: { hash: string; place: CanaryPlace },
): Promise<boolean> {
  return withDatabaseErrors(async () => {
    const canary = await findCanaryByHash(deps.db, input.hash);
    if (!canary) return false;
    const { place } = input;
    const where = place.kind === 'slack_message' ? `${place.channel}:${place.messageTs}` : place.url;
    await insertCanaryTries(deps.db, [
      {
        keyId: canary.keyId,
        triedAt: deps.clock.now(),
        via: place.kind,
        place,
        dedupeKey: `${canary.secretId}|${place.kind}|${where}`,
      },
    ]);
    return true;
  });
}
