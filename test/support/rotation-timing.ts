import { and, desc, eq } from 'drizzle-orm';
import { expect } from 'vitest';
import { auditEvents } from '../../db/schema/index.ts';
import type { Db } from '../../src/store/database.ts';
import { postVerify } from '../http/verify-server.ts';

/** The time the latest rotation of a key committed, as its audit row records it (the rotating process's clock). */
export async function rotationCommittedAt(db: Db, keyId: string): Promise<number> {
  const [row] = await db
    .select({ at: auditEvents.createdAt })
    .from(auditEvents)
    .where(and(eq(auditEvents.keyId, keyId), eq(auditEvents.action, 'rotate')))
    .orderBy(desc(auditEvents.seq))
    .limit(1);
  if (!row) throw new Error(`key ${keyId} has no rotation in its audit trail`);
  return row.at.getTime();
}

export interface ExpiryWatch {
  /**
   * Waits until every replica has answered EXPIRED or `deadline` (epoch ms) has passed, and gives, per
   * replica URL, the wall-clock time of its first EXPIRED answer (undefined if none came).
   */
  until(deadline: number): Promise<Map<string, number | undefined>>;
}

/**
 * Asks each replica about `token` over and over, from before a rotation is made until it first answers
 * EXPIRED, and notes when. Started before the process that rotates (the CLI), so the time a replica
 * took is measured from the rotation's commit, not from whenever that process happened to exit.
 */
export function watchForExpiry(urls: readonly string[], token: string, auth: string): ExpiryWatch {
  let deadline = Number.POSITIVE_INFINITY;
  const watchOne = async (url: string): Promise<number | undefined> => {
    while (Date.now() < deadline) {
      const answer = await postVerify(url, { key: token }, auth);
      if (answer.json.code === 'EXPIRED') return Date.now();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return undefined;
  };
  const watching = urls.map(async (url) => [url, await watchOne(url)] as const);
  return {
    async until(at) {
      deadline = at;
      return new Map(await Promise.all(watching));
    },
  };
}

/**
 * A key cached as valid on every replica (asked twice each, so only the invalidation channel can change
 * their answer), then rotated `now` by `rotate` (typically the CLI, in another process): expects every
 * replica to answer EXPIRED within `withinMs` of that rotation's commit, and gives each one's delay.
 */
export async function expectRotationSeenWithin(
  withinMs: number,
  options: {
    db: Db;
    replicaUrls: readonly string[];
    key: { id: string; token: string };
    auth: string;
    rotate: () => Promise<void>;
  },
): Promise<Map<string, number | undefined>> {
  const { key, auth } = options;
  for (const url of options.replicaUrls) {
    for (let i = 0; i < 2; i++) {
      expect((await postVerify(url, { key: key.token }, auth)).json).toMatchObject({ valid: true });
    }
  }
  const watch = watchForExpiry(options.replicaUrls, key.token, auth);
  await options.rotate();
  const committedAt = await rotationCommittedAt(options.db, key.id);
  const seen = await watch.until(committedAt + Math.max(5_000, 2 * withinMs));
  const delays = new Map(
    [...seen].map(([url, at]) => [url, at === undefined ? undefined : at - committedAt]),
  );
  for (const [url, delay] of delays) {
    // Never EXPIRED (within the watch) reads as Infinity.
    expect(
      delay ?? Number.POSITIVE_INFINITY,
      `${url}: ms from the rotation's commit to EXPIRED`,
    ).toBeLessThan(withinMs);
  }
  return delays;
}
