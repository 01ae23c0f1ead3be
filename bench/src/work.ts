/**
 * CPU work a step does in the `work` scenario: a busy loop on this thread for
 * `ms` milliseconds, as a step that parses, computes or renders would. Every
 * engine calls the same function, so the steps cost the same everywhere and
 * what differs is the engine's own cost around them.
 */
export function burnCpu(ms: number): void {
  if (ms <= 0) return;
  const until = performance.now() + ms;
  let x = 0;
  while (performance.now() < until) x = (x * 31 + 7) % 1_000_003;
  if (x < 0) throw new Error("unreachable");
}
