/** Runs at most `concurrency` functions at once; the rest wait their turn in order. */
export function createLimiter(concurrency: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (fn) => {
    // A released slot passes straight to the next waiter (active stays counted), so a caller
    // arriving before that waiter resumes cannot take the slot too and exceed the bound.
    if (active >= concurrency) await new Promise<void>((resolve) => waiting.push(resolve));
    else active++;
    try {
      return await fn();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else active--;
    }
  };
}
