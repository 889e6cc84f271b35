/** The one source of time. Use cases read it once and pass the instant down (docs/architecture.md#time). */
export interface Clock {
  now(): Date;
  /** The same instant in epoch ms, without allocating a Date (the verify hot path asks per request). */
  nowMs?(): number;
}

export const systemClock: Clock = { now: () => new Date(), nowMs: Date.now };
