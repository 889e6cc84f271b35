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
  /** Queues one presentation; never waits and never throws (the request is being answered). */
  record(keyId: string, atMs: number, asker: unknown): void;
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
}

/** The most presentations kept with their details while waiting to be written. */
export const MAX_QUEUED_TRIES = 1000;

/**
 * Canary presentations, written to the database off the request path: `record` only appends to a
 * bounded queue, and a write starts on the next turn of the event loop (so a burst is one INSERT). The
 * describing (headers, token fingerprint) happens there too, not while the request is answered.
 *
 * Bounded: past MAX_QUEUED_TRIES waiting (a flood of tries while the database is slow or down), further
 * tries are only counted per canary and written as one `unrecorded` row with that count — the alarm's
 * "N more tries" stays exact, only those tries' details are lost. A failed write keeps its rows (as
 * counts beyond the bound) and is retried every `retryMs`, logged once per failure streak.
 */
export function createCanaryTryRecorder(deps: {
  db: Db;
  logger: Logger;
  describe?: DescribeAsker;
  maxQueued?: number;
  retryMs?: number;
}): CanaryTryRecorder {
  const maxQueued = deps.maxQueued ?? MAX_QUEUED_TRIES;
  const retryMs = deps.retryMs ?? 1_000;
  let queue: Queued[] = [];
  /** Rows already described by a write that failed: written first by the next one. */
  let unwritten: NewCanaryTry[] = [];
  /** Tries beyond the bound: per canary, how many and since when. */
  let counted = new Map<string, { count: number; firstMs: number }>();
  /** The next write: on the next turn (`setImmediate`) or, after a failure, in `retryMs`. */
  let soon: NodeJS.Immediate | undefined;
  let retry: NodeJS.Timeout | undefined;
  let writing: Promise<void> | undefined;
  let failing = false;
  let stopped = false;

  const count = (keyId: string, atMs: number, n = 1) => {
    const entry = counted.get(keyId);
    if (entry) {
      entry.count += n;
      entry.firstMs = Math.min(entry.firstMs, atMs);
    } else counted.set(keyId, { count: n, firstMs: atMs });
  };

  const rowOf = (item: Queued): NewCanaryTry => {
    const details: AskerDetails = deps.describe?.(item.asker) ?? {
      via: 'verify',
      clientIp: null,
      userAgent: null,
      uri: null,
      method: null,
      askedBy: null,
    };
    return { keyId: item.keyId, triedAt: new Date(item.atMs), ...details };
  };

  const write = async () => {
    soon = undefined;
    retry = undefined;
    const taken = queue;
    const takenCounts = counted;
    queue = [];
    counted = new Map();
    const rows = [...unwritten, ...taken.map(rowOf)];
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
          { err: error, tries: rows.length },
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
        retry = setTimeout(start, retryMs);
        retry.unref();
      }
    }
  };

  function start(): void {
    if (writing) return;
    writing = write().finally(() => {
      writing = undefined;
      // More arrived while this write ran (and no retry is pending): write them next.
      if (!stopped && retry === undefined && (queue.length > 0 || counted.size > 0)) schedule();
    });
  }

  const schedule = () => {
    if (soon !== undefined || retry !== undefined || writing) return;
    soon = setImmediate(start);
  };

  return {
    record(keyId, atMs, asker) {
      if (queue.length + unwritten.length < maxQueued) queue.push({ keyId, atMs, asker });
      else count(keyId, atMs);
      if (!stopped) schedule();
    },
    get pending() {
      let n = queue.length + unwritten.length;
      for (const c of counted.values()) n += c.count;
      return n;
    },
    async flush() {
      await writing;
      clearImmediate(soon);
      clearTimeout(retry);
      soon = undefined;
      retry = undefined;
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
