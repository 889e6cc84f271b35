/**
 * RSS of a process holding 100 000 cached verdicts (the memory figure in the README, Verify API speed):
 * `node --expose-gc --import tsx bench/cache-memory.ts`. Worst case for the cache: every secret belongs
 * to a different key, so only the product lists are shared. Usage counting on, as in the app.
 *
 * Three fills, each in a process of its own (the script runs itself with CACHE_MEMORY_CLIENTS set):
 * - `0`: counting without client attribution (what a cached secret cost before it);
 * - `1`: every secret presented once by a client with its own address (a gateway passing identity):
 *   the difference is the memory client attribution adds per cached secret;
 * - `5`: five clients each: the difference to `1`, over 4 × 100 000, is the memory per tracked client.
 * User agents come from a set of 20, as a fleet's do; addresses are all distinct (the worst case).
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
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { getHeapSpaceStatistics } from 'node:v8';
import { systemClock } from '../src/clock.ts';
import { generateToken } from '../src/keys/token.ts';
import { UsageCounter, type UseSlot } from '../src/services/usage-counter.ts';
import { createVerifyCache } from '../src/services/verify-cache.ts';

const ENTRIES = 100_000;
const CLIENTS = process.env.CACHE_MEMORY_CLIENTS;
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

/** Counting as the app does it, with client attribution off when `clients` is 0. */
class Counter extends UsageCounter {
  constructor(private readonly attributing: boolean) {
    super();
  }
  protected override attribute(slot: UseSlot, inHour: number, ip: string | null, agent: string | null): void {
    if (this.attributing) super.attribute(slot, inHour, ip, agent);
  }
}

function createCache(maxEntries: number, attributing: boolean) {
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
    usage: new Counter(attributing),
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

if (CLIENTS === undefined) {
  // The three fills, each in a fresh process, then what they say per secret and per client.
  const self = fileURLToPath(import.meta.url);
  const run = (clients: number) => {
    const out = execFileSync(process.execPath, [...process.execArgv, self], {
      env: { ...process.env, CACHE_MEMORY_CLIENTS: String(clients) },
      encoding: 'utf8',
    });
    process.stdout.write(out);
    return JSON.parse(out.split('\n').find((line) => line.startsWith('{'))!) as { rss: number; heap: number };
  };
  const none = run(0);
  const one = run(1);
  const five = run(5);
  const per = (bytes: number, n: number) => `${Math.round(bytes / n)} bytes`;
  console.log(
    `client attribution: ${per(one.heap - none.heap, ENTRIES)} of heap (${per(one.rss - none.rss, ENTRIES)} of RSS) ` +
      `more per cached secret presented by one client; ${per(five.heap - one.heap, 4 * ENTRIES)} of heap ` +
      `(${per(five.rss - one.rss, 4 * ENTRIES)} of RSS) per further tracked client`,
  );
  process.exit(0);
}
const clientsPerSecret = Number(CLIENTS);
const AGENTS = Array.from({ length: 20 }, (_, i) => `python-requests/2.${i} (worker)`);
/** A header value as a request brings it: a string of its own every time. */
const clientOf = (secret: number, client: number) => ({
  ip: flat(`${10 + client}.${(secret >> 16) & 255}.${(secret >> 8) & 255}.${secret & 255}`),
  userAgent: flat(AGENTS[(secret + client) % AGENTS.length]!),
});

if (!global.gc) throw new Error('run with node --expose-gc');
const tokens = Array.from({ length: ENTRIES }, token);
await settle();
const cold = process.memoryUsage();
const youngCold = youngGeneration();

let warmUp: ReturnType<typeof createCache> | undefined = createCache(WARM_UP_ENTRIES, clientsPerSecret > 0);
for (let i = 0; i < WARM_UP_VERIFICATIONS; i++) {
  const client = clientOf(i, 0);
  await warmUp.verify(token(), client.ip, client.userAgent);
}
const youngWarm = youngGeneration();
warmUp = undefined;
await settle();
const before = process.memoryUsage();

const cache = createCache(ENTRIES, clientsPerSecret > 0);
for (let i = 0; i < tokens.length; i++) {
  if (clientsPerSecret === 0) await cache.verify(tokens[i]);
  for (let c = 0; c < clientsPerSecret; c++) {
    const client = clientOf(i, c);
    await cache.verify(tokens[i], client.ip, client.userAgent);
  }
}
// Each entry has been counted once: the counter's list of slots to flush is part of the cost (a drain
// here would measure the garbage of the flush it stands for instead).
await settle();
const after = process.memoryUsage();
if (cache.size !== ENTRIES || tokens.length !== ENTRIES) throw new Error(`${cache.size} entries cached`);

console.log(
  JSON.stringify({
    clients: clientsPerSecret,
    rss: after.rss - before.rss,
    heap: after.heapUsed - before.heapUsed,
  }),
);
console.log(
  `${clientsPerSecret} client(s) per secret: ${cache.size} cached entries: RSS ${mb(after.rss)} (was ${mb(before.rss)} before filling: ` +
    `+${mb(after.rss - before.rss)}, ${perEntry(after.rss - before.rss)}), heap used ` +
    `+${mb(after.heapUsed - before.heapUsed)} (${perEntry(after.heapUsed - before.heapUsed)})`,
);
console.log(
  `raw, from the process before the warm-up: RSS +${mb(after.rss - cold.rss)} (${perEntry(after.rss - cold.rss)}); ` +
    `the warm-up left RSS +${mb(before.rss - cold.rss)}, heap used +${mb(before.heapUsed - cold.heapUsed)}: ` +
    `V8's young generation had ${mb(youngCold)} in memory before it, ${mb(youngWarm)} after`,
);
