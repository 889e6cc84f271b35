import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Every metric rekey exports, in one registry per process (tests create their own). Adapters
 * increment these; nothing here knows about HTTP or Slack.
 */
export function createMetrics(options: { defaults?: boolean } = {}) {
  const registry = new Registry();
  if (options.defaults) collectDefaultMetrics({ register: registry });
  /**
   * Verify outcomes are tallied in plain numbers on the hot path and handed to prom-client when
   * /metrics is scraped: a labelled counter's inc() costs more than the rest of a cached verification.
   */
  const verifyTally = new Map<string, number>();
  let pendingHits = 0;
  const m = {
    registry,
    verifyTally: {
      add(outcome: string) {
        verifyTally.set(outcome, (verifyTally.get(outcome) ?? 0) + 1);
      },
    },
    verifyOutcomes: new Counter({
      name: 'rekey_verify_total',
      help: 'Verifications by outcome (active, expiring, MALFORMED, NOT_FOUND, EXPIRED, UNAVAILABLE)',
      labelNames: ['outcome'] as const,
      registers: [registry],
      collect() {
        for (const [outcome, count] of verifyTally) if (count > 0) this.inc({ outcome }, count);
        verifyTally.clear();
      },
    }),
    verifyDuration: new Histogram({
      name: 'rekey_verify_duration_seconds',
      help: 'Service time of POST /v1/keys/verify',
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
      registers: [registry],
    }),
    /** Counted in a plain number per hit and handed to prom-client at scrape time, like verify outcomes. */
    cacheHit: () => {
      pendingHits++;
    },
    cacheHits: new Counter({
      name: 'rekey_verify_cache_hits_total',
      help: 'Verify cache hits',
      registers: [registry],
      collect() {
        if (pendingHits > 0) this.inc(pendingHits);
        pendingHits = 0;
      },
    }),
    cacheMisses: new Counter({
      name: 'rekey_verify_cache_misses_total',
      help: 'Verify cache misses',
      registers: [registry],
    }),
    cacheSize: new Gauge({
      name: 'rekey_verify_cache_entries',
      help: 'Verify cache entries',
      registers: [registry],
    }),
    invalidationsReceived: new Counter({
      name: 'rekey_cache_invalidations_total',
      help: 'Cache invalidations applied, by origin (local, remote)',
      labelNames: ['origin'] as const,
      registers: [registry],
    }),
    invalidationChannelUp: new Gauge({
      name: 'rekey_invalidation_channel_up',
      help: '1 while the cross-replica invalidation channel (LISTEN) is connected; 0 means TTL-only',
      registers: [registry],
    }),
    rotations: new Counter({
      name: 'rekey_rotations_total',
      help: 'Rotations by delay and source',
      labelNames: ['delay', 'source'] as const,
      registers: [registry],
    }),
    notifications: new Counter({
      name: 'rekey_scheduler_notifications_total',
      help: 'Scheduler notifications by kind and result (sent, failed, retried)',
      labelNames: ['kind', 'result'] as const,
      registers: [registry],
    }),
    slackApiErrors: new Counter({
      name: 'rekey_slack_api_errors_total',
      help: 'Slack Web API errors by method and error',
      labelNames: ['method', 'error'] as const,
      registers: [registry],
    }),
    databaseErrors: new Counter({
      name: 'rekey_database_errors_total',
      help: 'Database errors by operation',
      labelNames: ['operation'] as const,
      registers: [registry],
    }),
  };
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;
