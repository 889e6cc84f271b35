/** RSS of a process holding 100 000 cached verdicts (issue 5's memory figure): `npx tsx bench/cache-memory.ts`. */
import { randomUUID } from 'node:crypto';
import { systemClock } from '../src/clock.ts';
import { generateToken } from '../src/keys/token.ts';
import { createVerifyCache } from '../src/services/verify-cache.ts';

const ENTRIES = 100_000;
const mb = (bytes: number) => `${(bytes / 1_048_576).toFixed(1)} MB`;
const tokens = Array.from({ length: ENTRIES }, () => generateToken('rk_live').token);
const cache = createVerifyCache({
  lookupMany: async (hashes) =>
    hashes.map((hash) => ({
      hash,
      secretId: randomUUID(),
      keyId: randomUUID(),
      name: `key-${Math.random().toString(36).slice(2, 10)}`,
      products: ['payments-api', 'billing'],
      expiresAt: null,
      deletedAt: null,
    })),
  clock: systemClock,
  maxEntries: ENTRIES,
  ttlMs: 600_000,
});
global.gc?.();
const before = process.memoryUsage();
for (const token of tokens) await cache.verify(token);
global.gc?.();
const after = process.memoryUsage();
console.log(
  `${cache.size} cached entries: RSS ${mb(after.rss)} (was ${mb(before.rss)} before filling: +${mb(after.rss - before.rss)}), ` +
    `heap used +${mb(after.heapUsed - before.heapUsed)}`,
);
