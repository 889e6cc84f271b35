/**
 * Turns a one-at-a-time async call into one call per event-loop turn: every item asked for during a
 * turn is handed to `run` together at the end of that turn (setImmediate runs right after the poll
 * phase that read the requests asking), and each caller gets the result at its own index.
 *
 * The verify cache uses it for misses: a burst of unseen keys becomes one database round trip per turn
 * instead of one per key. The wait it adds is bounded by the rest of the current turn — never a timer.
 * A failed `run` rejects the callers of that batch only; the next turn starts afresh.
 */
export function batchPerTurn<T, R>(
  run: (items: readonly T[]) => Promise<readonly R[]>,
  options: { maxBatch?: number } = {},
): (item: T) => Promise<R> {
  const maxBatch = options.maxBatch ?? 256;
  let items: T[] = [];
  let waiting: { resolve: (result: R) => void; reject: (error: unknown) => void }[] = [];
  let scheduled = false;

  const start = (part: T[], callers: typeof waiting) => {
    let pending: Promise<readonly R[]>;
    try {
      pending = run(part);
    } catch (error) {
      pending = Promise.reject(error);
    }
    pending.then(
      (results) => {
        for (let i = 0; i < callers.length; i++) callers[i]!.resolve(results[i]!);
      },
      (error: unknown) => {
        for (const caller of callers) caller.reject(error);
      },
    );
  };

  const flush = () => {
    scheduled = false;
    // Swapped out first: items asked for while `run` starts belong to the next turn's batch.
    const turnItems = items;
    const turnWaiting = waiting;
    items = [];
    waiting = [];
    for (let i = 0; i < turnItems.length; i += maxBatch) {
      start(turnItems.slice(i, i + maxBatch), turnWaiting.slice(i, i + maxBatch));
    }
  };

  return (item) =>
    new Promise<R>((resolve, reject) => {
      items.push(item);
      waiting.push({ resolve, reject });
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    });
}
