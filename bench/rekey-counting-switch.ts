/**
 * rekey exactly as `src/main.ts` starts it, except that its usage counter can be switched off and on
 * while it runs (SIGUSR2 flips it; it prints `counting on` / `counting off`): the two sides of the
 * counting comparison in `npm run bench:verify`, measured in ONE process so that nothing but counting
 * differs between them (two processes differ by where the scheduler puts them, their JIT's choices and
 * their heap layout, by more than counting costs). Starts with counting off. A bench helper only; the
 * product always counts.
 */
import { startRekey } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { UsageCounter, type UseSlot } from '../src/services/usage-counter.ts';

class SwitchableUsage extends UsageCounter {
  counting = false;
  override record(slot: UseSlot, nowMs: number, expired: boolean): void {
    if (this.counting) super.record(slot, nowMs, expired);
  }
}

const config = loadConfig();
const logger = createLogger(config.LOG_LEVEL);
const usage = new SwitchableUsage();
const rekey = await startRekey(config, { logger, usage });
logger.info(`rekey (usage counting switchable, off) is listening on ${rekey.url}`);
process.on('SIGUSR2', () => {
  usage.counting = !usage.counting;
  process.stdout.write(`counting ${usage.counting ? 'on' : 'off'}\n`);
});
const stop = () => void rekey.close().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
