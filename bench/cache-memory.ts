/**
 * RSS of a process holding 100 000 cached verdicts (the memory figure in the README, Verify API speed):
 * `node --expose-gc --import tsx bench/cache-memory.ts`. Worst case for the cache: every secret belongs
 * to a different key, so only the product lists are shared. Usage counting on, as in the app.
 *
 * How it reads memory, so that the figure is the cache's:
 * - Every reading follows two full GCs a few ms apart (`settle`): the memory of dead typed arrays is
 *   released after the GC that finds them, so a reading right after one GC may still count it.
 * - The tokens exist before the first reading and are kept alive to the last: dropped in between, they
 *   would make the cache look cheaper by their own size.
 * - The cache is created after the "before" reading: whatever it allocates up front is its cost.
 * - A warm-up first: V8 grows its young generation (semi-spaces of up to 16 MB by default) under any
 *   sustained allocation and keeps the pages it touched, so a fresh process pays that once, whatever
 *   it allocates for; a server that has answered traffic has paid it already. A throwaway cache of
 *   1 000 entries takes 30 000 verifications (the same allocations as the fill, little left behind),
 *   then the reading the figure starts from. The raw figure, from the process before the warm-up, is
 *   printed too, with what the warm-up itself left.
 */
import { randomUUID } from 'node:crypto';
import { getHeapSpaceStatistics } from 'node:v8';
import { systemClock } from '../src/clock.ts';
import { generateToken } from '../src/keys/token.ts';
import { UsageCounter } from '../src/services/usage-counter.ts';
import { createVerifyCache } from '../src/services/verify-cache.ts';

const ENTRIES = 100_000;
const WARM_UP_ENTRIES = 1_000;
const WARM_UP_VERIFICATIONS = 30_000;
const mb = (bytes: number) => `${(bytes / 1_048_576).toFixed(1)} MB`;
const perEntry = (bytes: number) => `${Math.round(bytes / ENTRIES)} bytes per entry`;
/**
 * A flat copy, as the database driver hands strings over. randomUUID and template literals build
 * rope strings of many small pieces (a UUID from randomUUID holds ~600 bytes of them), which would
 * measure this script's string building rather than the cache.
 */
const flat = (text: string) => Buffer.from(text).toString();
const token = () => flat(generateToken('rk_live').token);

function createCache(maxEntries: number) {
  return createVerifyCache({
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
    usage: new UsageCounter(),
    maxEntries,
    ttlMs: 600_000,
  });
}

const settle = async () => {
  global.gc?.();
  await new Promise((resolve) => setTimeout(resolve, 20));
  global.gc?.();
};
/** The young generation's pages in memory (not its reserved size, which the tokens alone already grow). */
const youngGeneration = () =>
  getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')!.physical_space_size;

if (!global.gc) throw new Error('run with node --expose-gc');
const tokens = Array.from({ length: ENTRIES }, token);
await settle();
const cold = process.memoryUsage();
const youngCold = youngGeneration();

let warmUp: ReturnType<typeof createCache> | undefined = createCache(WARM_UP_ENTRIES);
for (let i = 0; i < WARM_UP_VERIFICATIONS; i++) await warmUp.verify(token());
const youngWarm = youngGeneration();
warmUp = undefined;
await settle();
const before = process.memoryUsage();

const cache = createCache(ENTRIES);
for (const t of tokens) await cache.verify(t);
// Each entry has been counted once: the counter's list of slots to flush is part of the cost (a drain
// here would measure the garbage of the flush it stands for instead).
await settle();
const after = process.memoryUsage();
if (cache.size !== ENTRIES || tokens.length !== ENTRIES) throw new Error(`${cache.size} entries cached`);

console.log(
  `${cache.size} cached entries: RSS ${mb(after.rss)} (was ${mb(before.rss)} before filling: ` +
    `+${mb(after.rss - before.rss)}, ${perEntry(after.rss - before.rss)}), heap used ` +
    `+${mb(after.heapUsed - before.heapUsed)} (${perEntry(after.heapUsed - before.heapUsed)})`,
);
console.log(
  `raw, from the process before the warm-up: RSS +${mb(after.rss - cold.rss)} (${perEntry(after.rss - cold.rss)}); ` +
    `the warm-up left RSS +${mb(before.rss - cold.rss)}, heap used +${mb(before.heapUsed - cold.heapUsed)}: ` +
    `V8's young generation had ${mb(youngCold)} in memory before it, ${mb(youngWarm)} after`,
);
