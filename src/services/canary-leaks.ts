import type { CanaryPlace } from '../../db/schema/index.ts';
import { insertCanaryTries } from '../store/canary-store.ts';
import { withDatabaseErrors } from '../store/database-errors.ts';
import type { ServiceDeps } from './types.ts';

/**
 * A key string seen leaked (a Slack message, a scanner's finding) that is a canary's: its alarm is raised
 * like any other try, and the report goes on as for an unknown key (no thread reply, `false_positive`),
 * so whoever posted or scanned it learns nothing. Once per message or URL: a redelivered event or an
 * edit finds the try already recorded. `keyId`/`secretId`: the canary, as the report's one batched
 * lookup found it.
 */
export function reportCanaryLeak(
  deps: Pick<ServiceDeps, 'db' | 'clock'>,
  input: { keyId: string; secretId: string; place: CanaryPlace },
): Promise<{ status: 'unknown' }> {
  return withDatabaseErrors(async () => {
    const { keyId, secretId, place } = input;
    const where = place.kind === 'slack_message' ? `${place.channel}:${place.messageTs}` : place.url;
    await insertCanaryTries(deps.db, [
      {
        keyId,
        triedAt: deps.clock.now(),
        via: place.kind,
        place,
        dedupeKey: `${secretId}|${place.kind}|${where}`,
      },
    ]);
    return { status: 'unknown' as const };
  });
}
