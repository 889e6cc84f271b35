/**
 * rekey exactly as `src/main.ts` starts it, except that one part of its usage counting can be switched
 * off and on while it runs (SIGUSR2 flips it; it prints `counting on` / `counting off`): the two sides of
 * a comparison in `npm run bench:verify`, measured in ONE process so that nothing but that part differs
 * between them (two processes differ by where the scheduler puts them, their JIT's choices and their
 * heap layout, by more than counting costs). Starts with it off. A bench helper only; the product always
 * counts.
 *
 *   BENCH_SWITCH=counting (default)  the whole usage counter
 *   BENCH_SWITCH=clients             only client attribution (who presented each key): uses are counted
 *                                    either way
 */
import { startRekey } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { UsageCounter, type UseSlot } from '../src/services/usage-counter.ts';

const switchClients = process.env.BENCH_SWITCH === 'clients';

class SwitchableUsage extends UsageCounter {
  counting = false;
  override record(
    slot: UseSlot,
    nowMs: number,
    expired: boolean,
    ip?: string | null,
    userAgent?: string | null,
  ): void {
    if (switchClients || this.counting) super.record(slot, nowMs, expired, ip, userAgent);
  }
  protected override attribute(
    slot: UseSlot,
    inHour: number,
    ip: string | null,
    userAgent: string | null,
  ): void {
    if (!switchClients || this.counting) super.attribute(slot, inHour, ip, userAgent);
  }
}

const config = loadConfig();
const logger = createLogger(config.LOG_LEVEL);
const usage = new SwitchableUsage();
const rekey = await startRekey(config, { logger, usage });
logger.info(
  `rekey (${switchClients ? 'client attribution' : 'usage counting'} switchable, off) is listening on ${rekey.url}`,
);
process.on('SIGUSR2', () => {
  usage.counting = !usage.counting;
  process.stdout.write(`counting ${usage.counting ? 'on' : 'off'}\n`);
});
const stop = () => void rekey.close().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
