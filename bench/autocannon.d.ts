/** The part of autocannon's API the benchmark uses (the package ships no types). */
declare module 'autocannon' {
  interface Histogram {
    average: number;
    p50: number;
    p99: number;
    total: number;
  }
  interface Result {
    requests: Histogram;
    latency: Histogram;
    non2xx: number;
    errors: number;
    timeouts: number;
    /** Seconds it actually ran: it stops on a whole-second tick, so 1.5 s runs for 2. */
    duration: number;
  }
  interface Run extends Promise<Result> {
    /** Every response: its status and its time in (fractional) milliseconds. */
    on(
      event: 'response',
      listener: (client: unknown, status: number, bytes: number, ms: number) => void,
    ): void;
  }
  function autocannon(options: Record<string, unknown>): Run;
  export default autocannon;
}
