import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { CountingHistogram } from './counting-histogram.ts';
import type { VerifyFailureCode } from './keys/verification.ts';

/** What one verification ended as: a valid key's status, a refusal's code, or no answer (503). */
export type VerifyOutcome = 'active' | 'expiring' | VerifyFailureCode | 'UNAVAILABLE';

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
  // A fixed-shape record, not a Map: one property increment per request instead of a hash-table set.
  const verifyTally: Record<VerifyOutcome, number> = {
    active: 0,
    expiring: 0,
    MALFORMED: 0,
    NOT_FOUND: 0,
    EXPIRED: 0,
    UNAVAILABLE: 0,
  };
  let pendingHits = 0;
  let pendingFilterAnswers = 0;
  const m = {
    registry,
    verifyTally: {
      add(outcome: VerifyOutcome) {
        verifyTally[outcome]++;
      },
    },
    verifyOutcomes: new Counter({
      name: 'rekey_verify_total',
      help: 'Verifications by outcome (active, expiring, MALFORMED, NOT_FOUND, EXPIRED, UNAVAILABLE)',
      labelNames: ['outcome'] as const,
      registers: [registry],
      collect() {
        // Every outcome is exported from the first scrape, at 0 until it happens: an alert on
        // increase() (deploy/prometheus/rekey-alerts.yml) cannot see a series' first step from absent.
        for (const outcome of Object.keys(verifyTally) as VerifyOutcome[]) {
          this.inc({ outcome }, verifyTally[outcome]);
          verifyTally[outcome] = 0;
        }
      },
    }),
    /** Observed once per verify request: a CountingHistogram, cheaper per call than prom-client's. */
    verifyDuration: new CountingHistogram(
      'rekey_verify_duration_seconds',
      'Service time of POST /v1/keys/verify',
      [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
      registry,
    ),
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
    /** Counted in a plain number per answer and handed to prom-client at scrape time, like cache hits. */
    filterAnswer: () => {
      pendingFilterAnswers++;
    },
    filterAnswers: new Counter({
      name: 'rekey_verify_filter_answers_total',
      help: 'Well-formed keys answered NOT_FOUND by the live-secret filter alone, with no database lookup',
      registers: [registry],
      collect() {
        if (pendingFilterAnswers > 0) this.inc(pendingFilterAnswers);
        pendingFilterAnswers = 0;
      },
    }),
    filterFalseMaybes: new Counter({
      name: 'rekey_verify_filter_false_maybes_total',
      help: 'Keys the live-secret filter let through ("maybe") that the database did not know as live',
      registers: [registry],
    }),
    filterRebuilds: new Counter({
      name: 'rekey_verify_filter_rebuilds_total',
      help: 'Builds of the live-secret filter from the database, by result (ok, failed)',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    filterSecrets: new Gauge({
      name: 'rekey_verify_filter_secrets',
      help: 'Secrets in the live-secret filter (live at its last build, plus those created since)',
      registers: [registry],
    }),
    filterBytes: new Gauge({
      name: 'rekey_verify_filter_bytes',
      help: 'Memory of the live-secret filter, in bytes',
      registers: [registry],
    }),
    filterTrusted: new Gauge({
      name: 'rekey_verify_filter_trusted',
      help: '1 while the live-secret filter rules out unknown keys; 0 while every miss is looked up',
      registers: [registry],
    }),
    invalidationsReceived: new Counter({
      name: 'rekey_cache_invalidations_total',
      help: 'Cache invalidations applied, by origin (local, remote)',
      labelNames: ['origin'] as const,
      registers: [registry],
    }),
    // Exported only by a process that runs the verify path (verify-wiring.ts registers it): a bot has no
    // such channel, and an unset gauge would read 0 there and fire RekeyInvalidationChannelDown forever.
    invalidationChannelUp: new Gauge({
      name: 'rekey_invalidation_channel_up',
      help: '1 while the cross-replica invalidation channel (LISTEN) is connected; 0 means TTL-only',
      registers: [],
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
    leakCandidatesDropped: new Counter({
      name: 'rekey_leak_candidates_dropped_total',
      help: 'Checksum-valid strings in one Slack message past the per-message bound, counted and not looked up',
      registers: [registry],
    }),
    leakNotices: new Counter({
      name: 'rekey_leak_notices_total',
      help: 'Leak outbox messages (thread replies, DMs, alert-channel notices) by kind and result (sent, failed)',
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
    canaryKeys: new Gauge({
      name: 'rekey_canary_keys',
      help: 'Canary (decoy) keys this replica knows and answers NOT_FOUND from memory',
      registers: [registry],
    }),
    // What the alert rules in deploy/prometheus/rekey-alerts.yml read, beside the metrics above.
    ready: new Gauge({
      name: 'rekey_ready',
      help: '1 while /readyz answers 200 (the database answers and has every migration); 0 while it answers 503',
      registers: [registry],
    }),
    usageFlushFailing: new Gauge({
      name: 'rekey_usage_flush_failing',
      help: '1 while usage counts cannot be written (they wait in memory for the next flush that works)',
      registers: [registry],
    }),
    // Label-free, so each exports 0 from the start and the first one counted shows in increase().
    leakReports: new Counter({
      name: 'rekey_leak_reports_total',
      help: 'New reports of a working key seen where others can read it (a Slack message or a scanner finding)',
      registers: [registry],
    }),
    canaryTries: new Counter({
      name: 'rekey_canary_tries_total',
      help: 'Presentations of a canary key to verify or authorize on this replica: someone holds a decoy key',
      registers: [registry],
    }),
  };
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;
