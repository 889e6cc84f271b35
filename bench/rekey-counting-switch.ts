/**
 * rekey exactly as `src/main.ts` starts it, except that its usage counter counts nothing: the
 * "counting off" side of `npm run bench:verify`, so the cost of counting on the verify path is measured
 * against the same server without it. A bench helper only; the product always counts.
 */
import { startRekey } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { UsageCounter, type UseSlot } from '../src/services/usage-counter.ts';

class UncountedUsage extends UsageCounter {
  override record(_slot: UseSlot, _nowMs: number, _expired: boolean): void {}
}

const config = loadConfig();
const logger = createLogger(config.LOG_LEVEL);
const rekey = await startRekey(config, { logger, usage: new UncountedUsage() });
logger.info(`rekey (usage not counted) is listening on ${rekey.url}`);
const stop = () => void rekey.close().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
