/** The one source of time. Use cases read it once and pass the instant down (DESIGN §4). */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
