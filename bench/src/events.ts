/**
 * Timestamps from inside worker processes. A worker's step records an event
 * ("this run's first step started", "the step after the signal started") and
 * the events travel to the harness over the IPC channel, batched, so
 * measuring costs a worker almost nothing and never touches Redis or Postgres
 * (which would show up in the command counts being measured).
 */

/**
 * Milliseconds on the machine's monotonic clock (`CLOCK_MONOTONIC`, which
 * `process.hrtime` reads), with sub-millisecond resolution. Unlike
 * `performance.now()` it has one origin for every process on the machine, so
 * a time taken in a worker can be subtracted from one taken in the harness.
 */
export function now(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** The {@link now} of a wall-clock time (epoch ms), e.g. a timestamp another system recorded. */
export function fromEpoch(epochMs: number): number {
  return epochMs - Date.now() + now();
}

/**
 * What a worker reports:
 * - `first`: a run's first step started (pickup latency = first - submitted)
 * - `armed`: the step before a park started (wake lateness = resumed - (armed + delay))
 * - `resumed`: the step after a signal or a delay started
 * - `done`: a run finished (when the harness cannot observe it itself)
 */
export type EventKind = "first" | "armed" | "resumed" | "done";

const KINDS: readonly EventKind[] = ["first", "armed", "resumed", "done"];

/** One IPC message: a batch of `[kind, run, at]`. */
export interface EventBatch {
  readonly type: "bench-events";
  readonly events: readonly (readonly [EventKind, string, number])[];
}

/** A worker says it is consuming. */
export interface ReadyMessage {
  readonly type: "bench-ready";
}

const FLUSH_MS = 5;
const FLUSH_AT = 500;

/**
 * Returns a function that records an event in this process and sends events
 * to the parent in batches. A no-op when the process has no IPC channel (a
 * worker started by hand).
 */
export function createRecorder(): (kind: EventKind, run: string) => void {
  const pending: [EventKind, string, number][] = [];
  let timer: NodeJS.Timeout | null = null;
  const flush = () => {
    timer = null;
    if (pending.length === 0 || !process.send || !process.connected) return;
    const batch: EventBatch = { type: "bench-events", events: pending.splice(0) };
    process.send(batch);
  };
  return (kind, run) => {
    if (!process.send) return;
    pending.push([kind, run, now()]);
    if (pending.length >= FLUSH_AT) flush();
    else timer ??= setTimeout(flush, FLUSH_MS);
  };
}

/** Tells the parent this worker process is consuming. */
export function reportReady(): void {
  const message: ReadyMessage = { type: "bench-ready" };
  process.send?.(message);
}

/**
 * Exits when the harness goes away (its IPC channel closes), so a harness
 * killed mid-run leaves no worker behind. Does nothing without a channel.
 */
export function exitWithParent(): void {
  if (process.send) process.once("disconnect", () => process.exit(0));
}

/** True when an IPC message is a batch of events. */
export function isEventBatch(message: unknown): message is EventBatch {
  return typeof message === "object" && message !== null && (message as { type?: unknown }).type === "bench-events";
}

interface RunWaiter {
  readonly kind: EventKind;
  readonly run: string;
  readonly resolve: () => void;
}

interface Waiter {
  readonly kind: EventKind;
  readonly count: number;
  readonly resolve: () => void;
}

/**
 * The harness's record of one scenario's events: the earliest time of each
 * kind per run (a step that runs twice after a crash counts once), and
 * waiting until a number of runs reached a kind.
 */
export class EventLog {
  private readonly times = new Map<EventKind, Map<string, number>>(KINDS.map((k) => [k, new Map()]));
  private waiters: Waiter[] = [];
  private readonly runWaiters = new Set<RunWaiter>();

  add(kind: EventKind, run: string, at: number): void {
    const byRun = this.times.get(kind)!;
    const seen = byRun.get(run);
    if (seen !== undefined && seen <= at) return;
    byRun.set(run, at);
    if (seen !== undefined) return;
    for (const w of this.runWaiters) if (w.kind === kind && w.run === run) w.resolve();
    const size = byRun.size;
    this.waiters = this.waiters.filter((w) => {
      if (w.kind !== kind || size < w.count) return true;
      w.resolve();
      return false;
    });
  }

  addBatch(batch: EventBatch): void {
    for (const [kind, run, at] of batch.events) this.add(kind, run, at);
  }

  count(kind: EventKind): number {
    return this.times.get(kind)!.size;
  }

  get(kind: EventKind, run: string): number | undefined {
    return this.times.get(kind)!.get(run);
  }

  all(kind: EventKind): ReadonlyMap<string, number> {
    return this.times.get(kind)!;
  }

  /** Resolves once `run` reached `kind`. @throws Error after `timeoutMs` */
  async waitForRun(kind: EventKind, run: string, timeoutMs: number): Promise<void> {
    if (this.get(kind, run) !== undefined) return;
    let timer: NodeJS.Timeout | undefined;
    let waiter: RunWaiter | undefined;
    const reached = new Promise<void>((resolve) => {
      waiter = { kind, run, resolve };
      this.runWaiters.add(waiter);
    });
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for run ${run} to reach "${kind}"`)), timeoutMs);
    });
    try {
      await Promise.race([reached, expired]);
    } finally {
      clearTimeout(timer);
      if (waiter) this.runWaiters.delete(waiter);
    }
  }

  /**
   * Resolves once `count` runs reached `kind`; rejects after `timeoutMs`
   * naming how far it got. `onTick` is called every 100 ms with the count so far.
   */
  async waitFor(kind: EventKind, count: number, timeoutMs: number, onTick?: (seen: number) => void): Promise<void> {
    if (this.count(kind) >= count) return;
    let timer: NodeJS.Timeout | undefined;
    let ticker: NodeJS.Timeout | undefined;
    const reached = new Promise<void>((resolve) => this.waiters.push({ kind, count, resolve }));
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`timed out after ${timeoutMs} ms: ${this.count(kind)} of ${count} runs reached "${kind}"`)),
        timeoutMs,
      );
    });
    if (onTick) ticker = setInterval(() => onTick(this.count(kind)), 100);
    try {
      await Promise.race([reached, expired]);
    } finally {
      clearTimeout(timer);
      clearInterval(ticker);
    }
  }
}
