/**
 * A token bucket: up to `perSecond` takes a second on average, `burst` at once. The live-secret
 * filter spends it on looking up the keys it rules out while they are rare (live-secret-filter.ts).
 */
export class LookupBudget {
  private tokens: number;
  private refilledAt = performance.now();

  constructor(
    private readonly perSecond: number,
    private readonly burst = perSecond,
  ) {
    this.tokens = burst;
  }

  /** True (and one token fewer) if a token is left. */
  take(): boolean {
    const now = performance.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.refilledAt) * this.perSecond) / 1000);
    this.refilledAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
