/**
 * Readiness answered from memory: a background loop asks the database at most once per `everyMs` and
 * /readyz reads the last answer, so any number of probes (a load balancer's, an attacker's) costs at
 * most one query a second. One check runs at a time: a check that hangs past `timeoutMs` turns the
 * state to "not ready" and the loop waits for it rather than piling more queries on a sick database.
 */
export interface HealthMonitor {
  /** The last answer; never a query. */
  ready(): boolean;
  stop(): void;
}

export async function startHealthMonitor(options: {
  check: () => Promise<void>;
  everyMs?: number;
  timeoutMs?: number;
  /** Called when the state flips (not for every check). */
  onChange?: (ready: boolean, reason?: unknown) => void;
}): Promise<HealthMonitor> {
  const everyMs = options.everyMs ?? 1_000;
  const timeoutMs = options.timeoutMs ?? 1_000;
  let ready = false;
  let known = false;
  let inFlight: Promise<void> | undefined;
  const set = (next: boolean, reason?: unknown) => {
    if (known && next === ready) return;
    const flipped = known;
    ready = next;
    known = true;
    if (flipped) options.onChange?.(next, reason);
  };
  const checkOnce = (): Promise<void> => {
    if (inFlight) return inFlight;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        set(false, new Error(`the database did not answer within ${timeoutMs} ms`));
        resolve();
      }, timeoutMs);
    });
    const settled = options.check().then(
      () => set(true),
      (error: unknown) => set(false, error),
    );
    inFlight = settled.finally(() => {
      clearTimeout(timer);
      inFlight = undefined;
    });
    return Promise.race([inFlight, timedOut]);
  };
  await checkOnce();
  const loop = setInterval(() => void checkOnce(), everyMs);
  loop.unref();
  return {
    ready: () => ready,
    stop: () => clearInterval(loop),
  };
}
