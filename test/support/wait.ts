// Waiting for a condition in tests that talk to real services (where no step can be awaited).

/** Polls `fn` until it returns a truthy value or `timeoutMs` passes; returns the last value. */
export async function eventually<T>(fn: () => Promise<T> | T, timeoutMs = 5000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await fn();
  while (!last && Date.now() < deadline) {
    await Bun.sleep(everyMs);
    last = await fn();
  }
  return last;
}
