/**
 * The scheduler's time budget, in one place. A notice is claimed in the database with a lease; when the
 * lease runs out another replica presumes the claimer dead and sends the notice itself. So a post must
 * never still be in flight when its lease ends, or the notice goes out twice. Every number that bounds
 * how long a post can take is here, and `checkNoticeTiming` refuses a combination that breaks that rule.
 *
 *   one Web API call ≤ attempts × callTimeoutMs + retries × backoffMaxMs = 3 × 10 s + 2 × 5 s = 40 s
 *   one message ≤ a call, a 429's Retry-After (≤ rateLimitWaitMs), and one more call   (`postBudgetMs`)
 *               = 40 s + 30 s + 40 s = 110 s
 *   the claims of a round are renewed every renewEveryMs (2.5 min) while it is being sent, and a post
 *   only starts while its claims have at least one post budget of lease left;
 *   leaseMs (10 min) > renewEveryMs + postBudgetMs, so renewals keep every post startable, and a post
 *   that started ends before its lease even if no renewal ever succeeds again (database gone).
 */
export interface NoticeTiming {
  /** One HTTP attempt of a Web API call is abandoned after this long (the SDK has no limit by default). */
  callTimeoutMs: number;
  /** Retries after a timeout, a network error or a 5xx; `ok: false` answers are never retried. */
  retries: number;
  /** Longest pause between two attempts (the SDK's exponential backoff, capped). */
  backoffMaxMs: number;
  /**
   * The scheduler waits out a 429 itself (the SDK would wait any Retry-After, unbounded) once per
   * message and at most this long; a longer wait, or a second 429, gives the message back to the next tick.
   */
  rateLimitWaitMs: number;
  /** A claim older than this is presumed abandoned and taken over by another replica. */
  leaseMs: number;
  /** How often the claims of a round still being sent are renewed. */
  renewEveryMs: number;
}

export const NOTICE_TIMING: NoticeTiming = {
  callTimeoutMs: 10_000,
  retries: 2,
  backoffMaxMs: 5_000,
  rateLimitWaitMs: 30_000,
  leaseMs: 10 * 60_000,
  renewEveryMs: (10 * 60_000) / 4,
};

/** The longest one Web API call can take, its retries included. */
export function callBudgetMs(t: Pick<NoticeTiming, 'callTimeoutMs' | 'retries' | 'backoffMaxMs'>) {
  return (t.retries + 1) * t.callTimeoutMs + t.retries * t.backoffMaxMs;
}

/** The longest one message can take from its first attempt to its last answer. */
export function postBudgetMs(
  t: Pick<NoticeTiming, 'callTimeoutMs' | 'retries' | 'backoffMaxMs' | 'rateLimitWaitMs'>,
) {
  return 2 * callBudgetMs(t) + t.rateLimitWaitMs;
}

/** Fills in defaults (renewal at a quarter of the lease) and refuses a lease a post could outlive. */
export function checkNoticeTiming(
  overrides: Partial<NoticeTiming> = {},
): NoticeTiming & { postBudgetMs: number } {
  const leaseMs = overrides.leaseMs ?? NOTICE_TIMING.leaseMs;
  const t: NoticeTiming = { ...NOTICE_TIMING, renewEveryMs: leaseMs / 4, ...overrides, leaseMs };
  const budget = postBudgetMs(t);
  if (!(t.leaseMs > t.renewEveryMs + budget)) {
    throw new Error(
      `scheduler lease of ${t.leaseMs} ms is too short: it must exceed the renewal interval (${t.renewEveryMs} ms) plus the longest a post can take (${budget} ms), or a notice could be sent twice`,
    );
  }
  return { ...t, postBudgetMs: budget };
}
