import type { Clock } from '../clock.ts';
import type { Logger } from '../logger.ts';
import { findCanarySecrets } from '../store/canary-store.ts';
import type { Db } from '../store/database.ts';
import type { CanaryTryRecorder } from './canary-tries.ts';

/** The verify path's view of the canaries: what verify-cache.ts asks about a well-formed unknown key. */
export interface CanaryCheck {
  /**
   * True when this digest (a SHA-256 as 32 latin1 characters, as the verify cache keys it) is a
   * canary's: the presentation is queued for its alarm and the caller answers NOT_FOUND, as for any
   * unknown key. Synchronous and allocation-light: it runs on the request path. `ip`/`userAgent`: the
   * client the caller named (the verify body's `client`), preferred over what `asker` shows.
   */
  trip(digest: string, asker: unknown, ip?: string | null, userAgent?: string | null): boolean;
}

export interface CanaryWatch extends CanaryCheck {
  readonly size: number;
  /** Where the tries wait to be written (its `flush` writes them now). */
  readonly tries: CanaryTryRecorder;
  /** Reads every live canary from the database and replaces the set (serialised; a reload asked for during one runs after it). */
  reload(): Promise<void>;
  /** Keys named by an invalidation: reload when one of them is a canary (it may have been deleted). */
  keysChanged(keyIds: readonly string[]): void;
  stop(): Promise<void>;
}

const latin1OfHex = (hash: string) => Buffer.from(hash, 'hex').toString('latin1');

/**
 * The canaries' hashes, in memory on every replica (they are few), so a canary is answered NOT_FOUND
 * from the same place and as fast as any other unknown key: checked right before a well-formed key is
 * ruled out, never with a lookup of its own (docs/architecture.md#canary-keys). Kept current by the
 * verify invalidation channel (`db|canaries` when one is created, `db|key:<id>` when one is deleted)
 * and reloaded whenever that channel may have missed something. `onAdded` gets the hashes (hex) new to
 * the set, so the verify cache drops any NOT_FOUND it cached for them before they became canaries here.
 */
export function createCanaryWatch(deps: {
  db: Db;
  clock: Clock;
  logger: Logger;
  recorder: CanaryTryRecorder;
  onAdded?: (hashes: string[]) => void;
  /** Metrics hooks, kept as plain callbacks so this service knows nothing about prom-client. */
  onSize?: (canaries: number) => void;
  onTrip?: () => void;
  /** After a failed reload, how long until the next attempt. */
  retryMs?: number;
}): CanaryWatch {
  const nowMs = deps.clock.nowMs ? () => deps.clock.nowMs!() : () => deps.clock.now().getTime();
  /** Digest → the canary's key id. Replaced whole by each reload, never mutated. */
  let byDigest = new Map<string, string>();
  let keyIds = new Set<string>();
  let loading: Promise<void> | undefined;
  let again = false;
  let retry: NodeJS.Timeout | undefined;
  let stopped = false;

  const load = async () => {
    const rows = await findCanarySecrets(deps.db);
    const next = new Map(rows.map((r) => [latin1OfHex(r.hash), r.keyId]));
    const added = rows.filter((r) => !byDigest.has(latin1OfHex(r.hash))).map((r) => r.hash);
    byDigest = next;
    keyIds = new Set(rows.map((r) => r.keyId));
    deps.onSize?.(next.size);
    if (added.length > 0) deps.onAdded?.(added);
  };

  const reload = (): Promise<void> => {
    if (loading) {
      again = true;
      return loading;
    }
    clearTimeout(retry);
    loading = (async () => {
      do {
        again = false;
        try {
          await load();
        } catch (error) {
          deps.logger.error(
            { err: error, canaries: byDigest.size },
            'could not reload the canary keys: keeping the ones known so far and trying again',
          );
          if (!stopped) {
            retry = setTimeout(() => void reload(), deps.retryMs ?? 5_000);
            retry.unref();
          }
          return;
        }
      } while (again && !stopped);
    })().finally(() => {
      loading = undefined;
    });
    return loading;
  };

  return {
    trip(digest, asker, ip, userAgent) {
      const keyId = byDigest.get(digest);
      if (keyId === undefined) return false;
      deps.recorder.record(keyId, nowMs(), asker, ip, userAgent);
      deps.onTrip?.();
      return true;
    },
    get size() {
      return byDigest.size;
    },
    tries: deps.recorder,
    reload,
    keysChanged(ids) {
      if (ids.some((id) => keyIds.has(id))) void reload();
    },
    async stop() {
      stopped = true;
      clearTimeout(retry);
      await loading;
      await deps.recorder.stop();
    },
  };
}
