import { setMaxListeners } from "node:events";

/**
 * Time as Parkway's executors see it. Tests use {@link FakeClock} so that
 * delays, timeouts and backoffs never make them sleep for long.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `fn` after `ms`; the returned function cancels it. */
  setTimer(ms: number, fn: () => void): () => void;
  /** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Blocks the thread for `ms` (used only by `runSync`). */
  sleepSync(ms: number): void;
}

/**
 * Calls `fn` once when `signal` aborts. A run's signal has one such listener per task attempt or
 * sleep in flight, and a map or fork has many at once: more than Node's default of 10 is not a
 * leak here, so the limit is lifted rather than a MaxListenersExceededWarning printed by a library.
 */
export function listenForAbort(signal: AbortSignal, fn: () => void): void {
  setMaxListeners(0, signal);
  signal.addEventListener("abort", fn, { once: true });
}

function sleepOn(clock: Pick<Clock, "setTimer">, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const onAbort = () => {
      cancel();
      reject(signal?.reason as Error);
    };
    const cancel = clock.setTimer(ms, () => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    });
    if (signal) listenForAbort(signal, onAbort);
  });
}

/**
 * The longest delay one Node timer holds (2^31-1 ms, about 24.8 days). A
 * longer one overflows: Node warns and fires it after 1 ms.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * `setTimeout` for any delay: waits longer than {@link MAX_TIMER_MS} are slept
 * in chunks of at most that, so a 30-day deadline neither fires at once nor
 * spins. The returned function cancels it. Every timer Parkway sets goes
 * through here (via {@link realClock}).
 */
export function setLongTimeout(ms: number, fn: () => void): () => void {
  let handle: NodeJS.Timeout;
  const arm = (left: number) => {
    handle = left > MAX_TIMER_MS ? setTimeout(() => arm(left - MAX_TIMER_MS), MAX_TIMER_MS) : setTimeout(fn, left);
  };
  arm(Math.max(0, ms));
  return () => clearTimeout(handle);
}

/** The wall clock and Node's timers. */
export const realClock: Clock = {
  now: () => Date.now(),
  setTimer(ms, fn) {
    return setLongTimeout(ms, fn);
  },
  sleep(ms, signal) {
    return sleepOn(realClock, ms, signal);
  },
  sleepSync(ms) {
    if (ms > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  },
};

interface PendingTimer {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
}

/** A clock that moves only when told to, firing due timers in order. */
export class FakeClock implements Clock {
  private current: number;
  private seq = 0;
  private timers: PendingTimer[] = [];

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimer(ms: number, fn: () => void): () => void {
    const timer = { at: this.current + Math.max(0, ms), seq: this.seq++, fn };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepOn(this, ms, signal);
  }

  sleepSync(ms: number): void {
    this.current += Math.max(0, ms);
  }

  /** Number of timers not yet fired. */
  get pending(): number {
    return this.timers.length;
  }

  /**
   * Moves time forward by `ms`, firing each timer that falls due, and lets
   * promise callbacks run between timers so chains of waits progress.
   */
  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    for (;;) {
      await settle();
      const next = this.timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!next) break;
      this.timers = this.timers.filter((t) => t !== next);
      this.current = Math.max(this.current, next.at);
      next.fn();
    }
    this.current = target;
    await settle();
  }
}

/** Lets queued promise callbacks and I/O callbacks run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
