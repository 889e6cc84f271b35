/** Asks `probe` every 20 ms until `ok` holds or `timeoutMs` has passed; the last answer either way. */
export async function until<T>(
  probe: () => Promise<T>,
  ok: (value: T) => boolean,
  timeoutMs: number,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (ok(value) || performance.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 20));
  }
}
