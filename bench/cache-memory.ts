/**
 * RSS of a process holding 100 000 cached verdicts (the memory figure in the README, Verify API speed):
 * `node --expose-gc --import tsx bench/cache-memory.ts`. Worst case for the cache: every secret belongs
 * to a different key, so only the product lists are shared. Usage counting on, as in the app.
 */
import { randomUUID } from 'node:crypto';
import { getHeapSpaceStatistics } from 'node:v8';
import { systemClock } from '../src/clock.ts';
import { generateToken } from '../src/keys/token.ts';
import { UsageCounter } from '../src/services/usage-counter.ts';
import { createVerifyCache } from '../src/services/verify-cache.ts';

const ENTRIES = 100_000;
const mb = (bytes: number) => `${(bytes / 1_048_576).toFixed(1)} MB`;
/**
 * A flat copy, as the database driver hands strings over. randomUUID and template literals build
 * rope strings of many small pieces (a UUID from randomUUID holds ~600 bytes of them), which would
 * measure this script's string building rather than the cache.
 */
const flat = (text: string) => Buffer.from(text).toString();
const tokens = Array.from({ length: ENTRIES }, () => flat(generateToken('rk_live').token));
const usage = new UsageCounter();
const cache = createVerifyCache({
  lookupMany: async (hashes) =>
    hashes.map((hash) => ({
      hash,
      secretId: flat(randomUUID()),
      keyId: flat(randomUUID()),
      name: flat(`key-${Math.random().toString(36).slice(2, 10)}`),
      products: [flat('payments-api'), flat('billing')],
      expiresAt: null,
      deletedAt: null,
    })),
  clock: systemClock,
  // Counting on, as the app runs it: each entry carries its usage slot.
  usage,
  maxEntries: ENTRIES,
  ttlMs: 600_000,
});
const youngGeneration = () =>
  getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')!.space_size;
global.gc?.();
const before = process.memoryUsage();
const youngBefore = youngGeneration();
for (const token of tokens) await cache.verify(token);
// Each entry has been counted once: the counter's list of slots to flush is part of the cost (a drain
// here would measure the garbage of the flush it stands for instead).
global.gc?.();
const after = process.memoryUsage();
const youngGrowth = youngGeneration() - youngBefore;
console.log(
  `${cache.size} cached entries: RSS ${mb(after.rss)} (was ${mb(before.rss)} before filling: +${mb(after.rss - before.rss)}, ` +
    `${Math.round((after.rss - before.rss) / cache.size)} bytes per entry), heap used +${mb(after.heapUsed - before.heapUsed)} ` +
    `(${Math.round((after.heapUsed - before.heapUsed) / cache.size)} bytes per entry)`,
);
// Part of that RSS is not held by the entries: V8 grows its young generation (up to 16 MB by default)
// while a fill this fast allocates, whatever the number of entries.
console.log(
  `of that RSS, the young generation grew by ${mb(youngGrowth)}: ` +
    `${Math.round((after.rss - before.rss - youngGrowth) / cache.size)} bytes per entry without it`,
);
