/**
 * The scheduler's time budget, in one place (docs/architecture.md#notices-exactly-once).
 *
 * A notice claim belongs to a live instance. Every instance says it is alive every `beatEveryMs`; one
 * not heard from for `deadAfterMs` — by the database's clock, the one clock every replica shares — is
 * deleted by the next heartbeat of another, which frees every claim it held. Hence:
 *
 *   - a dead holder's claims are free at most deadAfterMs + beatEveryMs = 8 s + 2 s = 10 s after its
 *     last heartbeat, and the release wakes every scheduler, so they go out seconds later;
 *   - a live holder keeps its claims however long Slack takes (timeouts, 429 waits): nothing expires
 *     while it is alive, so the length of a post no longer bounds anything;
 *   - a post starts only while this instance's last confirmed heartbeat was sent less than
 *     `postGuardMs` ago: before that, no one can have found it dead (5 s < 8 s, the margin covering
 *     the two clocks' rates and a late heartbeat), so no one else can be sending the same notice.
 *     Cut off from the database, an instance stops starting posts after 5 s, and gives them back.
 *
 * What remains: a post already in flight when its instance dies, or is cut off for 8 s, may reach
 * Slack without being recorded, and be sent again by whoever takes the claim. Posts go one at a time
 * per instance, so that is at most one message per instance per such event.
 *
 * A false "dead" (an event loop stalled, or the database unreachable, for 8 s) costs no notice: the
 * instance's next heartbeat finds its row gone, and it posts nothing more of what it held.
 *
 *   one Web API call ≤ attempts × callTimeoutMs + retries × backoffMaxMs = 3 × 10 s + 2 × 5 s = 40 s
 *   one message ≤ a call, a 429's Retry-After (≤ rateLimitWaitMs), and one more call   (`postBudgetMs`)
 *               = 40 s + 30 s + 40 s = 110 s. A graceful stop cuts the 429 wait short and gives back
 *               what was not posted; a process forced out before its stop ends (npm start allows
 *               10 s) leaves its row behind, and is found dead like a crashed one.
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
  /** How often an instance says it is alive (and looks for instances that stopped saying so). */
  beatEveryMs: number;
  /** An instance not heard from for this long (database clock) is dead: its claims are freed. */
  deadAfterMs: number;
  /** A post starts only if this instance's last confirmed heartbeat was sent less than this long ago. */
  postGuardMs: number;
}

export const NOTICE_TIMING: NoticeTiming = {
  callTimeoutMs: 10_000,
  retries: 2,
  backoffMaxMs: 5_000,
  rateLimitWaitMs: 30_000,
  beatEveryMs: 2_000,
  deadAfterMs: 8_000,
  postGuardMs: 5_000,
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

/**
 * Fills in defaults and refuses liveness bounds that could let two instances send one notice: the
 * guard must end before anyone can find the instance dead, and leave room for a late heartbeat.
 */
export function checkNoticeTiming(overrides: Partial<NoticeTiming> = {}): NoticeTiming {
  const t: NoticeTiming = { ...NOTICE_TIMING, ...overrides };
  if (!(t.postGuardMs < t.deadAfterMs)) {
    throw new Error(
      `scheduler post guard of ${t.postGuardMs} ms must be shorter than the ${t.deadAfterMs} ms after which an instance is found dead, or a notice could be sent twice`,
    );
  }
  if (!(t.beatEveryMs * 2 <= t.postGuardMs)) {
    throw new Error(
      `scheduler heartbeat every ${t.beatEveryMs} ms leaves no room in the ${t.postGuardMs} ms post guard: one late heartbeat would stop every post`,
    );
  }
  return t;
}
