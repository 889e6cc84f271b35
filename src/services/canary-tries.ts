import { withoutKeyStrings } from '../keys/token.ts';
import type { Logger } from '../logger.ts';
import { insertCanaryTries, type NewCanaryTry } from '../store/canary-store.ts';
import type { Db } from '../store/database.ts';

/** Who presented a canary to the verify API or a gateway, as the HTTP layer reads it from the request. */
export interface AskerDetails {
  via: 'verify' | 'authorize';
  clientIp: string | null;
  userAgent: string | null;
  uri: string | null;
  method: string | null;
  /** Which of REKEY_API_TOKENS asked: its position and a short fingerprint, never the token. */
  askedBy: string | null;
}

/**
 * Turns what a route passed along with a key (the request) into details. Supplied by the HTTP layer
 * (src/http/canary-asker.ts), so this service reads no headers itself.
 */
export type DescribeAsker = (asker: unknown) => AskerDetails;

export interface CanaryTryRecorder {
  /**
   * Queues one presentation; never waits and never throws (the request is being answered). `ip` and
   * `userAgent`, when given, name the client in place of what `asker` shows (the verify body's `client`).
   */
  record(keyId: string, atMs: number, asker: unknown, ip?: string | null, userAgent?: string | null): void;
  /** Tries waiting to be written (queued and counted). */
  readonly pending: number;
  /** Writes what is queued now and waits for it (tests, shutdown). */
  flush(): Promise<void>;
  /** Stops retrying and writes what is left, once. */
  stop(): Promise<void>;
}

interface Queued {
  keyId: string;
  atMs: number;
  asker: unknown;
  ip?: string | null;
  userAgent?: string | null;
}

/** The most presentations kept with their details while waiting to be written. */
export const MAX_QUEUED_TRIES = 1000;

/** After a write, the next one waits at least this long: a flood of tries costs a few writes a second. */
export const MIN_WRITE_GAP_MS = 250;

const NO_DETAILS: AskerDetails = {
  via: 'verify',
  clientIp: null,
  userAgent: null,
  uri: null,
  method: null,
  askedBy: null,
};

/**
 * Canary presentations, written to the database off the request path: `record` only appends to a
 * bounded queue. The first try after a quiet spell is written on the next turn of the event loop (its
 * alarm should not wait); after a write, the next waits MIN_WRITE_GAP_MS, so a flood of tries (an
 * intruder scripting the key) costs a few small writes a second, not one per request. Describing the
 * asker (headers) happens at the write too, not while the request is answered.
 *
 * A write holds one row per canary and distinct asker (same client, user agent, request and token):
 * its `count`, and the latest time. Past MAX_QUEUED_TRIES waiting (the database slow or down), tries are
 * only counted per canary, written as one `unrecorded` row: the alarm's "N more tries" stays exact,
 * only those tries' details are lost. A failed write keeps its rows (as counts beyond the bound) and is
 * retried every `retryMs`, logged once per failure streak.
 */
export function createCanaryTryRecorder(deps: {
  db: Db;
  logger: Logger;
  describe?: DescribeAsker;
  maxQueued?: number;
  retryMs?: number;
  minGapMs?: number;
}): CanaryTryRecorder {
  const maxQueued = deps.maxQueued ?? MAX_QUEUED_TRIES;
  const retryMs = deps.retryMs ?? 1_000;
  const minGapMs = deps.minGapMs ?? MIN_WRITE_GAP_MS;
  let queue: Queued[] = [];
  /** Rows already described by a write that failed: written first by the next one. */
  let unwritten: NewCanaryTry[] = [];
  /** Tries beyond the bound: per canary, how many and since when. */
  let counted = new Map<string, { count: number; firstMs: number }>();
  /** The next write, when one is planned (the next turn, the end of the gap, or a retry). */
  let next: NodeJS.Timeout | NodeJS.Immediate | undefined;
  let writing: Promise<void> | undefined;
  let lastWriteMs = Number.NEGATIVE_INFINITY;
  let failing = false;
  let stopped = false;

  const count = (keyId: string, atMs: number, n = 1) => {
    const entry = counted.get(keyId);
    if (entry) {
      entry.count += n;
      entry.firstMs = Math.min(entry.firstMs, atMs);
    } else counted.set(keyId, { count: n, firstMs: atMs });
  };

  /** One row per canary and distinct asker, with how many tries it stands for and the latest one's time. */
  const rowsOf = (items: Queued[]): NewCanaryTry[] => {
    const rows = new Map<string, NewCanaryTry & { count: number }>();
    for (const item of items) {
      const described = deps.describe?.(item.asker) ?? NO_DETAILS;
      // What the intruder sent is theirs to choose: a key string in it is not kept.
      const userAgent = item.userAgent ?? described.userAgent;
      const details = {
        ...described,
        clientIp: item.ip ?? described.clientIp,
        userAgent: userAgent === null ? null : withoutKeyStrings(userAgent),
        uri: described.uri === null ? null : withoutKeyStrings(described.uri),
      };
      const group = JSON.stringify([item.keyId, details]);
      const row = rows.get(group);
      if (!row) rows.set(group, { keyId: item.keyId, triedAt: new Date(item.atMs), count: 1, ...details });
      else {
        row.count += 1;
        if (item.atMs > row.triedAt.getTime()) row.triedAt = new Date(item.atMs);
      }
    }
    return [...rows.values()];
  };

  const clearNext = () => {
    clearTimeout(next as NodeJS.Timeout);
    clearImmediate(next as NodeJS.Immediate);
    next = undefined;
  };

  const write = async () => {
    next = undefined;
    const taken = queue;
    const takenCounts = counted;
    queue = [];
    counted = new Map();
    const rows = [...unwritten, ...rowsOf(taken)];
    unwritten = [];
    for (const [keyId, c] of takenCounts) {
      rows.push({ keyId, triedAt: new Date(c.firstMs), via: 'unrecorded', count: c.count });
    }
    if (rows.length === 0) return;
    try {
      await insertCanaryTries(deps.db, rows);
      if (failing) deps.logger.info('canary tries are being written again');
      failing = false;
    } catch (error) {
      if (!failing) {
        deps.logger.error(
          { err: error, rows: rows.length },
          'could not write canary tries; keeping them in memory and retrying (their alarm waits)',
        );
      }
      failing = true;
      // Kept for the next write: with details up to the bound, as counts beyond it.
      const room = Math.max(0, maxQueued - queue.length);
      for (const [i, row] of rows.entries()) {
        if (i < room && row.via !== 'unrecorded') unwritten.push(row);
        else count(row.keyId, row.triedAt.getTime(), row.count ?? 1);
      }
      if (!stopped) {
        next = setTimeout(start, retryMs);
        next.unref();
      }
    } finally {
      lastWriteMs = performance.now();
    }
  };

  function start(): void {
    if (writing) return;
    writing = write().finally(() => {
      writing = undefined;
      // More arrived while this write ran (and no retry is planned): write them after the gap.
      if (!stopped && (queue.length > 0 || counted.size > 0)) schedule();
    });
  }

  const schedule = () => {
    if (next !== undefined || writing) return;
    const wait = lastWriteMs + minGapMs - performance.now();
    if (wait <= 0) next = setImmediate(start);
    else {
      next = setTimeout(start, wait);
      next.unref();
    }
  };

  return {
    record(keyId, atMs, asker, ip, userAgent) {
      if (queue.length + unwritten.length < maxQueued) queue.push({ keyId, atMs, asker, ip, userAgent });
      else count(keyId, atMs);
      if (!stopped) schedule();
    },
    get pending() {
      let n = queue.length;
      for (const row of unwritten) n += row.count ?? 1;
      for (const c of counted.values()) n += c.count;
      return n;
    },
    async flush() {
      await writing;
      clearNext();
      start();
      await writing;
    },
    async stop() {
      stopped = true;
      await this.flush();
      if (this.pending > 0) {
        deps.logger.error(
          { tries: this.pending },
          'stopping with canary tries that could not be written: their alarm is lost',
        );
      }
    },
  };
}
