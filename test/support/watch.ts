/**
 * Asks `probe` every `everyMs` until `ok` holds, starting at once and running alongside whatever the
 * caller does next (e.g. a CLI process that is still rotating), so the moment a change became visible is
 * caught when it happens, not after the caller's own wait. It gives up `timeoutMs` after `after` has
 * settled (at once when there is none). `seenAt` is the wall clock (Date.now()) when the answer that
 * satisfied `ok` arrived; undefined if it never did.
 */
export function watch<T>(
  probe: () => Promise<T>,
  ok: (value: T) => boolean,
  options: { timeoutMs: number; after?: Promise<unknown>; everyMs?: number },
): Promise<{ value: T; seenAt: number | undefined }> {
  let deadline = options.after ? Number.POSITIVE_INFINITY : performance.now() + options.timeoutMs;
  const startClock = () => {
    deadline = performance.now() + options.timeoutMs;
  };
  options.after?.then(startClock, startClock);
  return (async () => {
    for (;;) {
      const value = await probe();
      if (ok(value)) return { value, seenAt: Date.now() };
      if (performance.now() > deadline) return { value, seenAt: undefined };
      await new Promise((r) => setTimeout(r, options.everyMs ?? 20));
    }
  })();
}

/** Asks `probe` every `everyMs` until `ok` holds or `timeoutMs` has passed; returns the last answer. */
export async function until<T>(
  probe: () => Promise<T>,
  ok: (value: T) => boolean,
  timeoutMs: number,
  everyMs = 50,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (ok(value) || performance.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
