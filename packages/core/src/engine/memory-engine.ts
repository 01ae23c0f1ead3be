/**
 * The embedded default: durable semantics in one process. Runs live in a
 * `MemoryStore`; a pump sweeps the store's due index and advances what is due,
 * arming one timer (on the `Clock`) for the next deadline. It is the same
 * due-index model the distributed workers sweep, driven by timers instead of jobs.
 */
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { context as otelContext, type Context, isSpanContextValid, ROOT_CONTEXT, trace } from "@opentelemetry/api";
import type { Workflow } from "../builder/workflow.js";
import { type Clock, realClock } from "../clock.js";
import { DEFAULT_MAX_PAYLOAD_BYTES } from "../codec/codec.js";
import type { Duration } from "../duration.js";
import { advanceRun, type AdvanceOutcome, type CheckpointOptions, type DurableStepEvent } from "../executors/checkpoint.js";
import { RunsInFlight } from "../executors/in-flight.js";
import { createLimiter } from "../executors/limit.js";
import { resolveLogger, type Logger } from "../logger.js";
import { checkOptions, durationInRange, integerInRange, optionNames } from "../options.js";
import { MemoryStore } from "../store/memory.js";
import { resolveRetention, type RetentionPolicy } from "../store/retention.js";
import type { RetentionMs, Store } from "../store/types.js";
import { DurableClient, type Wake } from "./client.js";
import { fireSchedule } from "./schedule-ticks.js";
import { configureRetention } from "./lifecycle.js";
import { WorkflowRegistry } from "./registry.js";
import { registeredWorkflows, type WorkerInfo } from "./workers.js";
import { packageVersion } from "../version.js";

export interface DurableRunnerOptions {
  /** Most step functions running at once (default 50, 1 to 100,000). */
  readonly concurrency?: number;
  /** A run left without a write this long may be taken over by another worker (default 30s, 50ms to 1d). */
  readonly lease?: Duration;
  /** Retry backoffs longer than this park the run instead of holding a worker (default 5s, 0 to 1h). */
  readonly holdRetriesUpTo?: Duration;
  /** How soon a run parked for a missing definition is looked at again (default 1m, 10ms to 1d). */
  readonly blockedRetry?: Duration;
  /**
   * On `close()`, how long steps in flight may go on before their tasks are
   * aborted through `ctx.signal` (default 30s, 0 to 1h). Either way each run
   * is released at that step boundary, for another worker to resume.
   */
  readonly shutdownGrace?: Duration;
  /** Largest encoded payload (input, output, signal) in bytes (default 1 MiB, 1 byte to 512 MiB). */
  readonly maxPayloadBytes?: number;
  /** Told after each committed step. */
  readonly onStep?: (event: DurableStepEvent) => void;
  /**
   * How often a run parked on a child step looks at its child when no finish notice came (the
   * notice is lost when a worker dies right after the child ends); default 1m, 10ms to 1d.
   */
  readonly childRecheck?: Duration;
  /** Told when advancing a run failed for a reason outside the run (the store is unreachable, ...). Default: logged as an error. */
  readonly onError?: (error: unknown, instanceId: string) => void;
  /** A pino-style logger for what the engine or worker does and what goes wrong; silent by default. */
  readonly logger?: Logger;
  /**
   * How long finished runs of the namespace are kept (default completed and cancelled "7d",
   * failed "30d"; "forever" keeps them). Written to the store when the worker starts, with each
   * workflow's own `retention`: give every worker of a namespace the same.
   */
  readonly retention?: RetentionPolicy;
}

/** The option names of {@link DurableRunnerOptions}, for the entry points that extend it. */
export const DURABLE_RUNNER_OPTIONS = optionNames<DurableRunnerOptions>({
  concurrency: true,
  lease: true,
  holdRetriesUpTo: true,
  blockedRetry: true,
  shutdownGrace: true,
  maxPayloadBytes: true,
  onStep: true,
  childRecheck: true,
  onError: true,
  logger: true,
  retention: true,
});

/** Redis refuses strings over 512 MiB; no store takes a larger payload. */
const MAX_PAYLOAD_BYTES_LIMIT = 512 * 1024 * 1024;

/**
 * Builds the executor's options from user-facing ones, with defaults.
 * @throws ValidationError naming an option of the wrong type or out of its documented range
 */
export function checkpointOptions(
  base: Pick<CheckpointOptions, "store" | "workflows" | "clock">,
  options: DurableRunnerOptions,
): CheckpointOptions & { readonly inFlight: RunsInFlight; readonly retention: RetentionMs | undefined } {
  const concurrency = integerInRange(options.concurrency, "concurrency", 50, 1, 100_000);
  return {
    ...base,
    leaseMs: durationInRange(options.lease, "lease", "30s", 50, 86_400_000),
    holdRetriesUpToMs: durationInRange(options.holdRetriesUpTo, "holdRetriesUpTo", "5s", 0, 3_600_000),
    blockedRetryMs: durationInRange(options.blockedRetry, "blockedRetry", "1m", 10, 86_400_000),
    maxPayloadBytes: integerInRange(options.maxPayloadBytes, "maxPayloadBytes", DEFAULT_MAX_PAYLOAD_BYTES, 1, MAX_PAYLOAD_BYTES_LIMIT),
    childRecheckMs: durationInRange(options.childRecheck, "childRecheck", "1m", 10, 86_400_000),
    limit: createLimiter(concurrency),
    inFlight: new RunsInFlight(base.clock, durationInRange(options.shutdownGrace, "shutdownGrace", "30s", 0, 3_600_000)),
    retention: options.retention === undefined ? undefined : resolveRetention(options.retention, "retention"),
    ...(options.onStep ? { onStep: options.onStep } : {}),
  };
}

export interface EngineOptions<S extends Store> extends DurableRunnerOptions {
  readonly workflows: readonly Workflow<never, unknown>[];
  readonly store: S;
  readonly clock?: Clock;
}

const ENGINE_OPTIONS = [
  ...DURABLE_RUNNER_OPTIONS,
  ...optionNames<Omit<EngineOptions<Store>, keyof DurableRunnerOptions>>({ workflows: true, store: true, clock: true }),
];

export interface MemoryEngineOptions extends DurableRunnerOptions {
  readonly workflows: readonly Workflow<never, unknown>[];
  readonly clock?: Clock;
  /** A store to run on, for instance one rebuilt from another's `snapshot()`. */
  readonly store?: MemoryStore;
}

/**
 * A durable engine in one process: the client API plus a worker that advances
 * runs, over any store (the memory store by default, or a Redis store for one
 * process that must survive restarts without running queue workers).
 */
export class EmbeddedEngine<S extends Store = Store> extends DurableClient {
  override readonly store: S;
  private readonly pump: Pump;

  /** @internal use {@link createMemoryEngine} or {@link createEngine} */
  constructor(options: EngineOptions<S>) {
    checkOptions("engine", options, ENGINE_OPTIONS);
    const clock = options.clock ?? realClock;
    const store = options.store;
    const workflows = new WorkflowRegistry(options.workflows);
    const logger = resolveLogger(options.logger, "engine");
    const report =
      options.onError ?? ((error: unknown, id: string) => logger.error({ err: error, instanceId: id }, `advancing run "${id}" failed`));
    const checkpoint = checkpointOptions({ store, workflows, clock }, options);
    // The first sweep waits for the retention to be written, so no run finishes under the defaults by mistake.
    const configured = configureRetention(store, checkpoint.retention, options.workflows).catch((error: unknown) => report(error, "*"));
    // A run a freed slot made due (or a child or parent told) is advanced at once, not at its wait's deadline.
    const pump: Pump = new Pump(store, { ...checkpoint, wake: () => pump.kick() }, clock, report, workflows, configured);
    pump.listen();
    // The engine is its own one worker: it lists itself, alive for as long as it can be asked.
    const concurrency = integerInRange(options.concurrency, "concurrency", 50, 1, 100_000);
    const self: Omit<WorkerInfo, "heartbeatAt"> = {
      id: randomBytes(6).toString("hex"),
      host: hostname(),
      pid: process.pid,
      namespace: null,
      partitions: [0],
      workflows: registeredWorkflows(options.workflows),
      concurrency,
      stepConcurrency: concurrency,
      startedAt: clock.now(),
      version: packageVersion("@parkway/core", import.meta.url),
    };
    super({
      store,
      waker: pump,
      workflows,
      clock,
      logger,
      workers: { list: async () => (pump.closed ? [] : [{ ...self, heartbeatAt: clock.now() }]) },
      ...(options.maxPayloadBytes ? { maxPayloadBytes: options.maxPayloadBytes } : {}),
    });
    this.store = store;
    this.pump = pump;
    pump.kick();
  }

  /** Resolves once no run is being advanced (timers for later deadlines may remain). */
  idle(): Promise<void> {
    return this.pump.idle();
  }

  /**
   * Stops advancing runs: no new step or attempt starts, steps in flight
   * finish (their tasks aborted after `shutdownGrace`, and not waited for
   * past it), and each run is released at that boundary, so an engine
   * reopened on the same store resumes it from its last commit.
   */
  override async close(): Promise<void> {
    await this.pump.close();
    await super.close();
    await this.store.close();
  }
}

/** Creates the embedded durable engine on the in-memory store: the default, no Redis needed. */
export function createMemoryEngine(options: MemoryEngineOptions): EmbeddedEngine<MemoryStore> {
  checkOptions("createMemoryEngine", options, ENGINE_OPTIONS);
  const store = options.store ?? new MemoryStore(options.clock ?? realClock);
  return new EmbeddedEngine({ ...options, store });
}

/** Creates an embedded durable engine on the given store. */
export function createEngine<S extends Store>(options: EngineOptions<S>): EmbeddedEngine<S> {
  return new EmbeddedEngine(options);
}

const SWEEP_RETRY_MS = 1000;
const TRIM_EVERY_MS = 1000;

/** Sweeps the due index and advances due runs, one advance per run at a time. */
class Pump {
  private readonly inflight = new Map<string, Promise<void>>();
  /** Schedules whose due ticks are being started, one call per schedule at a time. */
  private readonly firing = new Map<string, Promise<void>>();
  /**
   * The trace context of each run's latest wake-up that had one, so its attempts become children
   * of the caller's span, as with queue workers. Kept until the run ends, for the attempts after a park.
   */
  private readonly traces = new Map<string, Context>();
  private cancelTimer: (() => void) | null = null;
  private trimAfter = 0;
  private nextExpiry: number | null = null;
  private finishedSinceTrim = false;
  private sweeping = false;
  private sweepAgain = false;
  /** Set by `close()`: the engine advances nothing more (and no longer lists itself as a worker). */
  closed = false;

  private unlisten: Promise<(() => Promise<void>) | null> = Promise.resolve(null);

  constructor(
    private readonly store: Store,
    private readonly options: CheckpointOptions & { readonly inFlight: RunsInFlight },
    private readonly clock: Clock,
    private readonly report: (error: unknown, id: string) => void,
    private readonly workflows: WorkflowRegistry,
    private readonly configured: Promise<void>,
  ) {}

  async wake(id: string, wake: Wake): Promise<void> {
    const caller = wake.trace ?? otelContext.active();
    // Only a caller inside a real trace is worth keeping; without an SDK no span context is valid.
    const span = trace.getSpanContext(caller);
    if (span !== undefined && isSpanContextValid(span)) this.traces.set(id, caller);
    this.kick();
  }

  async forget(id: string): Promise<void> {
    this.traces.delete(id);
    this.finishedSinceTrim = true;
  }

  schedulesChanged(): void {
    this.kick();
  }

  /** Hears of cancels asked of running runs, so their tasks are aborted at once. */
  listen(): void {
    this.unlisten = this.options.inFlight.listen(this.store).catch((error: unknown) => {
      this.report(error, "*");
      return null;
    });
  }

  kick(): void {
    if (this.closed) return;
    if (this.sweeping) {
      this.sweepAgain = true;
      return;
    }
    this.sweeping = true;
    setImmediate(() => void this.sweep());
  }

  private async sweep(): Promise<void> {
    try {
      do {
        this.sweepAgain = false;
        if (this.closed) return;
        await this.configured;
        const nextAt = await this.trim();
        const { ids, nextDueAt, now } = await this.store.due(1000);
        const schedules = await this.store.dueSchedules(1000);
        if (this.closed) return;
        for (const id of ids) if (!this.inflight.has(id)) this.launch(id);
        for (const id of schedules.ids) if (!this.firing.has(id)) this.fire(id);
        const next = [nextDueAt, schedules.nextDueAt, nextAt].filter((t): t is number => t !== null);
        this.arm(next.length === 0 ? null : Math.min(...next) - now);
      } while (this.sweepAgain);
    } catch (error) {
      // The store is unreachable: report, and look again shortly rather than give up on due runs.
      this.report(error, "*");
      this.arm(SWEEP_RETRY_MS);
    } finally {
      this.sweeping = false;
    }
  }

  /**
   * Removes finished runs whose retention passed, at most once a second (a sweep runs after
   * every advance); returns when the next one goes, so the timer wakes the pump for it.
   */
  private async trim(): Promise<number | null> {
    if (this.clock.now() < this.trimAfter) {
      // A run finished since the last trim has an expiry the store has not told us yet.
      const next = this.finishedSinceTrim ? this.trimAfter : this.nextExpiry;
      return next === null ? null : Math.max(next, this.trimAfter);
    }
    this.finishedSinceTrim = false;
    const { nextAt } = await this.store.trimExpired(1000);
    this.trimAfter = this.clock.now() + TRIM_EVERY_MS;
    this.nextExpiry = nextAt;
    return nextAt;
  }

  private launch(id: string): void {
    // Never the sweep's own context: that is whichever caller happened to kick it.
    const done = advanceRun(this.options, id, this.traces.get(id) ?? ROOT_CONTEXT)
      .then((advanced: AdvanceOutcome) => {
        if (advanced.outcome === "completed" || advanced.outcome === "failed" || advanced.outcome === "cancelled") {
          this.traces.delete(id);
          this.finishedSinceTrim = true;
        }
      })
      .catch((error: unknown) => this.report(error, id))
      .finally(() => {
        this.inflight.delete(id);
        this.kick();
      });
    this.inflight.set(id, done);
  }

  /** Starts the runs of a schedule's due ticks (the same protocol as every worker's sweep). */
  private fire(id: string): void {
    const done = fireSchedule({ store: this.store, workflows: this.workflows, wake: (runId, wake) => this.wake(runId, wake) }, id)
      .then(() => undefined)
      .catch((error: unknown) => this.report(error, id))
      .finally(() => {
        this.firing.delete(id);
        this.kick();
      });
    this.firing.set(id, done);
  }

  /** One timer, for the earliest future deadline. */
  private arm(inMs: number | null): void {
    this.cancelTimer?.();
    this.cancelTimer = inMs === null || this.closed ? null : this.clock.setTimer(Math.max(0, inMs), () => this.kick());
  }

  async idle(): Promise<void> {
    while (this.inflight.size > 0 || this.firing.size > 0 || this.sweeping) {
      await Promise.all([...this.inflight.values(), ...this.firing.values()]);
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** Releases each run in flight at its next step boundary (aborting its tasks after the shutdown grace). */
  async close(): Promise<void> {
    this.closed = true;
    this.cancelTimer?.();
    await this.options.inFlight.drain();
    await Promise.all([...this.inflight.values(), ...this.firing.values()]);
    await (
      await this.unlisten
    )?.();
  }
}
