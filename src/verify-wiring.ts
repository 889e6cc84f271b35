import type { Clock } from './clock.ts';
import type { Config } from './config.ts';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';
import { createCanaryTryRecorder, type DescribeAsker } from './services/canary-tries.ts';
import { type CanaryWatch, createCanaryWatch } from './services/canary-watch.ts';
import type { KeyChanges } from './services/key-changes.ts';
import { createLiveSecretFilter, type LiveSecretFilter } from './services/live-secret-filter.ts';
import type { UsageCounter } from './services/usage-counter.ts';
import { createVerifyCache, type VerifyCache } from './services/verify-cache.ts';
import { connectVerifyInvalidation } from './services/verify-invalidation.ts';
import type { Database } from './store/database.ts';
import { type InvalidationChannel, openInvalidationChannel } from './store/invalidation-channel.ts';
import { readLiveSecretPrefixes } from './store/live-secret-prefixes.ts';
import { prepareVerificationLookupMany } from './store/secrets-store.ts';

export interface VerifyPath {
  cache: VerifyCache;
  /** The canaries this replica answers NOT_FOUND for, and the queue their tries are written from. */
  canaries: CanaryWatch;
  /** The membership filter that answers made-up keys without the database. */
  liveSecrets: LiveSecretFilter;
  /** The channel once LISTEN works (it may start later than the process). */
  readonly channel: InvalidationChannel | undefined;
  stop(): Promise<void>;
}

/**
 * Wiring for the verify path: the cache over the prepared lookup, the filter of live secrets that
 * answers floods of made-up keys, local invalidation from KeyChanges, cross-replica invalidation and new
 * secrets over LISTEN/NOTIFY (announced by database triggers), and their metrics and logs. Why each
 * piece is there: docs/architecture.md#the-verify-cache-across-replicas.
 */
export async function startVerifyPath(deps: {
  config: Pick<Config, 'REKEY_CACHE_SIZE' | 'REKEY_CACHE_TTL'>;
  database: Database;
  changes: KeyChanges;
  clock: Clock;
  metrics: Metrics;
  logger: Logger;
  /** Counts each verification of a known secret (the app's counter, flushed by its usage flusher). */
  usage?: UsageCounter;
  /** Real PostgreSQL only: how often the LISTEN connection proves it still delivers. */
  heartbeatMs?: number;
  /** How long to wait before trying LISTEN again after it failed to start. */
  listenRetryMs?: number;
  /** How a route's request is described in a canary's alarm (src/http/canary-asker.ts). */
  describeAsker?: DescribeAsker;
  /** How often the live-secret filter is rebuilt (expired secrets leave it then). */
  filterRebuildMs?: number;
  /** Keys the filter rules out that are still looked up, per second (see live-secret-filter.ts). */
  filterConfirmPerSecond?: number;
}): Promise<VerifyPath> {
  const { metrics, logger } = deps;
  const misses = metrics.cacheMisses;
  const liveSecrets = createLiveSecretFilter({
    readLivePrefixes: (since) => readLiveSecretPrefixes(deps.database.db, since),
    clock: deps.clock,
    rebuildEveryMs: deps.filterRebuildMs,
    confirmPerSecond: deps.filterConfirmPerSecond,
    onRebuilt: ({ secrets, bytes, ms }) => {
      metrics.filterRebuilds.inc({ result: 'ok' });
      metrics.filterSecrets.set(secrets);
      metrics.filterBytes.set(bytes);
      logger.info({ secrets, bytes, ms: Math.round(ms) }, 'verify: filter of live secrets built');
    },
    onRebuildFailed: (error) => {
      metrics.filterRebuilds.inc({ result: 'failed' });
      logger.warn(
        { err: error },
        'verify: could not build the filter of live secrets; unknown keys are looked up until it is',
      );
    },
    onTrustChange: (trusted) => metrics.filterTrusted.set(trusted ? 1 : 0),
  });
  metrics.filterTrusted.set(0);
  // Canaries: in memory, checked before an unknown key is ruled out; their tries written off the
  // request path (docs/architecture.md#canary-keys).
  const canaries = createCanaryWatch({
    db: deps.database.db,
    clock: deps.clock,
    logger,
    recorder: createCanaryTryRecorder({ db: deps.database.db, logger, describe: deps.describeAsker }),
    // A NOT_FOUND cached for a canary before this replica knew it would skip its alarm.
    onAdded: (hashes) => cache.invalidate(hashes),
    onSize: (n) => metrics.canaryKeys.set(n),
    onTrip: () => metrics.canaryTries.inc(),
  });
  const cache = createVerifyCache({
    canaries,
    liveSecrets,
    onFilterAnswer: metrics.filterAnswer,
    onFalseMaybe: () => metrics.filterFalseMaybes.inc(),
    lookupMany: prepareVerificationLookupMany(deps.database.db),
    clock: deps.clock,
    maxEntries: deps.config.REKEY_CACHE_SIZE,
    ttlMs: deps.config.REKEY_CACHE_TTL,
    usage: deps.usage,
    onHit: metrics.cacheHit,
    onMiss: () => misses.inc(),
    onSizeChange: (entries) => metrics.cacheSize.set(entries),
    // The first answer after a failure: changes made meanwhile may not have been heard.
    onAvailable: () => cache.clear(),
    onUnavailable: (error) =>
      logger.error(
        { err: error },
        'verify: the database is not answering; serving cached verdicts, answering 503 for the rest',
      ),
  });

  let channel: InvalidationChannel | undefined;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;
  if (!metrics.registry.getSingleMetric('rekey_invalidation_channel_up')) {
    metrics.registry.registerMetric(metrics.invalidationChannelUp);
  }
  metrics.invalidationChannelUp.set(0);
  const events = {
    onNewSecrets: (hashes: string[]) => {
      liveSecrets.add(hashes);
      metrics.filterSecrets.set(liveSecrets.secrets);
    },
    onInvalidate: (hashes: string[]) => {
      cache.invalidate(hashes);
      metrics.invalidationsReceived.inc({ origin: 'remote' });
    },
    onInvalidateKeys: (keyIds: string[]) => {
      cache.invalidateKeys(keyIds);
      canaries.keysChanged(keyIds);
      metrics.invalidationsReceived.inc({ origin: 'remote' });
    },
    onCanariesChanged: () => void canaries.reload(),
    onDatabaseBack: () => {
      cache.clear();
      void canaries.reload();
      logger.debug('verify cache cleared: the database answers again but invalidations may have been missed');
    },
    onResubscribed: () => {
      cache.clear();
      void canaries.reload();
      logger.info('verify cache cleared: the invalidation channel reconnected and may have missed changes');
    },
    onStateChange: (up: boolean, reason?: unknown) => {
      // Up: LISTEN works from now on, so a filter built from now holds every live secret. Down: the
      // announcement of a new secret may be missed, so the filter rules nothing out until then.
      if (up) liveSecrets.channelUp();
      else liveSecrets.channelDown();
      metrics.invalidationChannelUp.set(up ? 1 : 0);
      if (up) logger.info('cross-replica cache invalidation channel is up');
      else
        logger.warn(
          { err: reason, ttlMs: deps.config.REKEY_CACHE_TTL },
          'cross-replica cache invalidation channel is down: other replicas’ changes reach this cache only through the TTL',
        );
    },
  };
  // A LISTEN that fails at start (the database blinked) is tried again until it works: a replica must
  // not stay on TTL-only invalidation for the rest of its life because of a bad first second.
  const open = async (): Promise<void> => {
    try {
      const opened = await openInvalidationChannel(deps.database, events, { heartbeatMs: deps.heartbeatMs });
      if (stopped) await opened.close();
      else {
        channel = opened;
        // Changes made while we were not listening may have been missed.
        if (retry !== undefined) cache.clear();
      }
    } catch (error) {
      logger.warn(
        { err: error, ttlMs: deps.config.REKEY_CACHE_TTL, retryInMs: deps.listenRetryMs ?? 5_000 },
        'could not LISTEN for cache invalidations: falling back to the TTL and trying again',
      );
      if (!stopped) {
        retry = setTimeout(() => void open(), deps.listenRetryMs ?? 5_000);
        retry.unref();
      }
    }
  };
  await open();
  await canaries.reload();

  const unsubscribe = connectVerifyInvalidation(deps.changes, cache, {
    onInvalidation: () => metrics.invalidationsReceived.inc({ origin: 'local' }),
    onNewSecret: (hash) => events.onNewSecrets([hash]),
  });
  // A key created or deleted by this process: the canaries are current before the change returns.
  const unsubscribeCanaries = deps.changes.subscribe((change) =>
    change.type === 'created' || change.type === 'deleted' ? canaries.reload() : undefined,
  );

  return {
    cache,
    canaries,
    liveSecrets,
    get channel() {
      return channel;
    },
    async stop() {
      stopped = true;
      clearTimeout(retry);
      liveSecrets.stop();
      unsubscribe();
      unsubscribeCanaries();
      await channel?.close();
      // Last: the server has stopped, so the tries queued so far are all there will be.
      await canaries.stop();
    },
  };
}
