/**
 * The checkpointing executor: the durable driver of the shared walk.
 *
 * It answers each effect from the run's committed outputs when it can (so a
 * resumed run skips every committed step and never re-runs one), and otherwise
 * performs it and commits the result in the same atomic write that advances
 * the run. Waits that cannot be satisfied now become a park; fork branches,
 * map elements and race branches that park leave the others running, and the
 * run parks on all their waits once nothing else can progress. A race's
 * outcome is committed under its key, so a resumed run keeps its winner.
 */
import { context as otelContext, type Context, type Span } from "@opentelemetry/api";
import type { Workflow } from "../builder/workflow.js";
import type { Clock } from "../clock.js";
import { decode, encode } from "../codec/codec.js";
import {
  CancelledError,
  CodecError,
  DefinitionMismatchError,
  isParkwayError,
  RunTimeoutError,
  serializeError,
  SignalTimeoutError,
  StaleVersionError,
  UnknownInstanceError,
  UnknownWorkflowError,
} from "../errors.js";
import { parkwayMetrics } from "../metrics.js";
import { checkStepInput, checkStepOutput, type StepRef } from "../schema.js";
import { driveAsync, type Scope, type StepEffect } from "../semantics/drive.js";
import { RetryLater, runStep } from "../semantics/retry.js";
import {
  delayMsAt,
  walkWorkflow,
  type CallEffect,
  type DelayEffect,
  type RaceEffect,
  type RaceOutcome,
  type SignalEffect,
} from "../semantics/walk.js";
import type { RunHeader, Store, StoredRun, WaitRequest } from "../store/types.js";
import { endSpan, inSpan, recordFailure, SpanAttributes, SpanKind, startSpan, withSpan } from "../tracing.js";
import { runTimeout, taskContext } from "./context.js";
import type { HeldRun, RunsInFlight } from "./in-flight.js";

/** Finds the definition a run was started with. */
export interface DefinitionLookup {
  find(name: string, hash: string): Workflow | undefined;
  hasName(name: string): boolean;
}

export interface CheckpointOptions {
  readonly store: Store;
  readonly workflows: DefinitionLookup;
  readonly clock: Clock;
  /** How long a run stays ours without a write before another worker may take it over. */
  readonly leaseMs: number;
  /** Retry backoffs longer than this park the run instead of holding the worker. */
  readonly holdRetriesUpToMs: number;
  /** How soon a run parked for a missing definition is looked at again. */
  readonly blockedRetryMs: number;
  readonly maxPayloadBytes: number;
  /** Bounds how many step functions run at once (shared across runs). */
  readonly limit: <T>(fn: () => Promise<T>) => Promise<T>;
  /** Told after each committed step. */
  readonly onStep?: (event: DurableStepEvent) => void;
  /** The runs this worker advances, so cancels and shutdown reach their running tasks. */
  readonly inFlight?: RunsInFlight;
}

/** A committed step, as reported to `onStep`. */
export interface DurableStepEvent {
  readonly instanceId: string;
  readonly workflow: string;
  readonly key: string;
  readonly output: unknown;
  readonly attempts: number;
}

/** How one call of {@link advanceRun} ended. */
export type AdvanceOutcome =
  | { readonly outcome: "completed" | "failed" | "cancelled" | "paused" | "blocked" | "lost" }
  /**
   * The worker is shutting down and let the run go at a step boundary (or before
   * taking it): it is due now, for another worker. `now` is the store's clock.
   */
  | { readonly outcome: "released"; readonly version: number; readonly now: number }
  /** `dueAt` is when the run next needs a worker, `now` the store's clock, both in store time. */
  | { readonly outcome: "parked"; readonly version: number; readonly dueAt: number | null; readonly now: number }
  | { readonly outcome: "skipped"; readonly reason: "finished" | "paused" }
  | { readonly outcome: "skipped"; readonly reason: "busy" | "not-due"; readonly dueAt: number | null; readonly now: number };

/** Thrown through the walk when a step cannot go on now. */
class Park extends Error {
  constructor(
    readonly waits: readonly WaitRequest[],
    readonly attempts: Readonly<Record<string, number>> = {},
  ) {
    super("park");
  }

  static merge(parks: readonly Park[]): Park {
    return new Park(
      parks.flatMap((p) => p.waits),
      Object.assign({}, ...parks.map((p) => p.attempts)) as Record<string, number>,
    );
  }
}

/**
 * The key of the wait that wakes a run at its workflow's timeout. Never a
 * commit key: those start with a step id, and ids cannot contain `#`.
 */
export const RUN_TIMEOUT_KEY = "#timeout";

/**
 * The iteration `n` of the loop committing under `loopKey` that commit key `key` belongs to:
 * `<loopKey>#<n>` (a body function's call) or `<loopKey>#<n>/...` (a step of a sub-flow body).
 */
function iterationOf(key: string, loopKey: string): number | undefined {
  if (!key.startsWith(`${loopKey}#`)) return undefined;
  const match = /^(\d+)(?:\/|$)/.exec(key.slice(loopKey.length + 1));
  return match ? Number(match[1]) : undefined;
}

/**
 * The outputs a commit under `key` replaces, so a loop keeps only its last iterations
 * (a loop of 10,000 iterations stores what one of 2 does):
 * - iteration n of a body function (`L#n`) is its whole iteration: it replaces every
 *   earlier `L#m`;
 * - a step of iteration n of a sub-flow body (`L#n/...`) replaces every output of
 *   iterations before n-1. Iteration n-1 stays until the loop moves on: its decision
 *   is iteration n's input, which the steps of n not yet committed may still need.
 *   So a resumed loop starts at its first kept iteration, which is complete (or the first).
 * Loops nested in loops apply the rule at each level.
 */
export function replacedKeys(key: string, committed: Iterable<string>): string[] {
  const rules: { readonly loopKey: string; readonly below: number; readonly body: boolean }[] = [];
  const whole = /^(.+)#(\d+)$/.exec(key);
  if (whole) rules.push({ loopKey: whole[1]!, below: Number(whole[2]), body: false });
  for (const match of key.matchAll(/#(\d+)\//g)) {
    rules.push({ loopKey: key.slice(0, match.index), below: Number(match[1]) - 1, body: true });
  }
  if (rules.length === 0) return [];
  const replaced: string[] = [];
  for (const other of committed) {
    for (const rule of rules) {
      const n = iterationOf(other, rule.loopKey);
      if (n !== undefined && n < rule.below && (rule.body || other === `${rule.loopKey}#${n}`)) {
        replaced.push(other);
        break;
      }
    }
  }
  return replaced;
}

/** Resolves after the microtasks queued now have run (a macrotask later). */
function afterMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Thrown through the walk when the store stopped the run at a boundary (cancel or pause). */
class Stop extends Error {
  constructor(readonly stopped: "cancelled" | "paused") {
    super(stopped);
  }
}

/** Thrown through the walk when the worker shuts down: the run is let go at this boundary, not failed. */
class Release extends Error {
  constructor() {
    super("released");
  }
}

/**
 * A store operation failed (connection lost, failover): the run's state is
 * unknown to us but intact in the store. Not the run's failure: the worker
 * lets go, and the lease and the sweeper bring the run back.
 */
class StoreFailure extends Error {
  constructor(readonly error: unknown) {
    super(`store operation failed: ${(error as Error)?.message ?? String(error)}`, { cause: error });
  }
}

/** Marks a failure to decode what the store holds: the run is kept, not failed. */
class StoredDataError extends Error {
  constructor(readonly error: CodecError) {
    super(error.message);
  }
}

/**
 * Advances run `id` as far as it can go: to its end, a park, or a stop.
 *
 * Failure semantics:
 * - A step's output is committed at most once (the commit is a compare-and-set
 *   on the run's version); a worker that lost its lease is fenced and stops.
 * - A task can run again when its process dies after the task returned and
 *   before its commit landed, or when a Redis failover loses the commit: tasks
 *   are at-least-once; use `ctx.idempotencyKey` for their side effects.
 * - A run whose definition is missing, or whose stored bytes cannot be
 *   decoded, is left parked with the error in its status; nothing is dropped.
 *
 * Tracing: an attempt that acquires the run is a `parkway.run <workflow>` span
 * under `parent` (by default the active context), with a `parkway.step <commit key>`
 * child per step it executes; committed steps it skips get none.
 */
export async function advanceRun(options: CheckpointOptions, id: string, parent: Context = otelContext.active()): Promise<AdvanceOutcome> {
  if (options.inFlight?.closing) return { outcome: "released", version: 0, now: options.clock.now() };
  // The lease runs from when the acquire was sent: its reply may come late (a frozen or starved process).
  const askedAt = performance.now();
  const acquired = await options.store.acquire(id, options.leaseMs).catch((error: unknown) => {
    // A wake-up for a run deleted or expired since it was sent: nothing to do.
    if (isParkwayError(error, UnknownInstanceError.code)) return { acquired: false, reason: "finished" } as const;
    throw error;
  });
  if (!acquired.acquired) return { outcome: "skipped", ...acquired };
  const { header } = acquired.run;
  const attributes = {
    [SpanAttributes.workflow]: header.workflow,
    [SpanAttributes.hash]: header.hash,
    [SpanAttributes.instanceId]: id,
    [SpanAttributes.version]: header.version,
  };
  const advanced = await inSpan<AdvanceOutcome>(
    `parkway.run ${header.workflow}`,
    SpanKind.CONSUMER,
    attributes,
    parent,
    async (span, trace) => {
      const workflow = options.workflows.find(header.workflow, header.hash);
      if (!workflow) {
        const error = missingDefinition(options.workflows, header);
        recordFailure(span, error);
        await options.store.block(id, header.version, serializeError(error), options.blockedRetryMs);
        return { outcome: "blocked" };
      }
      return new RunSession(options, workflow, acquired.run, span, trace, askedAt).advance();
    },
    (advanced) => advanced.outcome,
  );
  if (advanced.outcome === "completed" || advanced.outcome === "failed" || advanced.outcome === "cancelled") {
    parkwayMetrics().runsFinished.add(1, { [SpanAttributes.workflow]: header.workflow, [SpanAttributes.outcome]: advanced.outcome });
  }
  return advanced;
}

/** Ends a step span that threw: parked, stopped or lost are not the step's failure; only its own failure is recorded as one. */
function endStepSpan(span: Span, e: unknown, ownFailure: boolean): void {
  if (ownFailure) return endSpan(span, "failed", e);
  if (e instanceof Park) return endSpan(span, "parked");
  if (e instanceof Stop) return endSpan(span, "stopped");
  if (e instanceof Release) return endSpan(span, "released");
  if (e instanceof StoreFailure || e instanceof StoredDataError) return endSpan(span, "error", e.error);
  endSpan(span, "lost");
}

/**
 * The one error for the failures of several branches: a stop first, then a lost
 * lease, then a step's own failure, then a release; when every branch parked,
 * one park on all their waits.
 */
function combineFailures(failures: readonly unknown[]): unknown {
  const fatal =
    failures.find((f) => f instanceof Stop) ??
    failures.find((f) => isParkwayError(f, StaleVersionError.code)) ??
    failures.find((f) => !(f instanceof Park) && !(f instanceof Release)) ??
    failures.find((f) => f instanceof Release);
  return fatal ?? Park.merge(failures as Park[]);
}

function missingDefinition(workflows: DefinitionLookup, header: RunHeader): Error {
  const context = { workflow: header.workflow, instanceId: header.id, hash: header.hash };
  return workflows.hasName(header.workflow)
    ? new DefinitionMismatchError(
        `run "${header.id}" was started with a definition of "${header.workflow}" (hash ${header.hash}) this worker does not have; register that definition to let it finish`,
        context,
      )
    : new UnknownWorkflowError(`run "${header.id}" belongs to workflow "${header.workflow}", which this worker does not register`, context);
}

/** One worker's hold on one run, from acquire to park, stop, release or end. */
class RunSession implements HeldRun {
  private version: number;
  private readonly outputs: Map<string, Uint8Array>;
  private readonly abort = new AbortController();
  /** Store writes of one run go one at a time, so each carries the version the previous one produced. */
  private writes: Promise<unknown> = Promise.resolve();
  private stopped: Stop | null = null;
  /** Set when a write found a newer version: another worker owns the run now. */
  private lost: Error | null = null;
  /** Monotonic time a write that renews the lease (acquire, commit, touch) was sent: the lease runs from then. */
  private leaseRenewedAt: number;
  /** The commit key of the first step that failed, recorded with the run's error. */
  private failedStep: string | null = null;
  /** Monotonic time at load, so the store clock is extrapolated without trusting this machine's wall clock. */
  private readonly loadedAt: number;
  /** A cancel was asked of the run and its tasks were aborted: it ends `cancelled` at the next write. */
  private cancelling = false;
  /** The worker is shutting down: no new step or attempt starts, the run is released at the boundary. */
  private releasing = false;
  /** Retries parked in this session whose park answered "signalled": their backoff still holds on the re-walk. */
  private readonly retriesDue = new Map<string, { readonly at: number; readonly attempts: number }>();
  /** Attempts counts to restore when the run is released: attempts the shutdown aborted do not count. */
  private readonly givenBack = new Map<string, number>();
  /** When the run times out (store time), from its creation and the workflow's `timeout`; null without one. */
  private readonly deadline: number | null;
  /** Set once the run passed its deadline: its tasks are aborted and it fails with this error. */
  private timedOut: RunTimeoutError | null = null;

  constructor(
    private readonly options: CheckpointOptions,
    private readonly workflow: Workflow,
    private readonly run: StoredRun,
    /** The run attempt's span, and the context its step spans start under. */
    private readonly span: Span,
    private readonly trace: Context,
    /** Monotonic time the acquire was sent. */
    acquiredAt: number,
  ) {
    this.version = run.header.version;
    this.outputs = new Map(run.outputs);
    this.loadedAt = performance.now();
    this.leaseRenewedAt = acquiredAt;
    this.deadline = workflow.timeoutMs === undefined ? null : run.header.createdAt + workflow.timeoutMs;
  }

  private get id(): string {
    return this.run.header.id;
  }

  async advance(): Promise<AdvanceOutcome> {
    // The lease renewal also answers a cancel asked of the run: the fallback when its message was lost.
    const heartbeat = setInterval(() => this.renewLease(), Math.max(50, this.options.leaseMs / 3));
    const unhold = this.options.inFlight?.hold(this.id, this);
    const stopTimeout =
      this.deadline === null ? null : this.options.clock.setTimer(Math.max(0, this.deadline - this.storeNow()), () => this.timeOut());
    try {
      if (this.deadline !== null && this.storeNow() >= this.deadline) this.timeOut();
      return this.timedOut ? await this.settleFailure(this.timedOut) : await this.advanceUntilSettled();
    } finally {
      stopTimeout?.();
      clearInterval(heartbeat);
      unhold?.();
      this.abort.abort(new CancelledError(`run "${this.id}" left this worker`, { instanceId: this.id }));
    }
  }

  cancelAsked(): void {
    this.renewLease();
  }

  release(): void {
    this.releasing = true;
  }

  abortForShutdown(): void {
    this.releasing = true;
    this.abort.abort(new CancelledError(`run "${this.id}" was released: this worker is shutting down`, { instanceId: this.id }));
  }

  /** The run passed its deadline: abort its tasks in flight; it fails at its next boundary. */
  private timeOut(): void {
    if (this.timedOut) return;
    this.timedOut = runTimeout(this.workflow, this.id);
    this.abort.abort(this.timedOut);
  }

  /** Renews the lease in the background (a heartbeat, or a cancel message to confirm). */
  private renewLease(): void {
    void this.touch().catch(() => undefined);
  }

  /** Renews the lease; when the store answers that a cancel was asked, aborts the tasks in flight. */
  private async touch(): Promise<void> {
    const { requested } = await this.write(() => this.options.store.touch(this.id, this.version, this.options.leaseMs), true);
    this.onRequested(requested);
  }

  private onRequested(requested: "cancel" | "pause" | null): void {
    if (requested !== "cancel" || this.cancelling) return;
    this.cancelling = true;
    // Their attempts reject at once (an attempt is never waited for past its abort), so the
    // run reaches its next write, where the store applies the cancel and drops their outputs.
    this.abort.abort(new CancelledError(`run "${this.id}" was cancelled`, { instanceId: this.id }));
  }

  private async advanceUntilSettled(): Promise<AdvanceOutcome> {
    const store = this.options.store;
    for (;;) {
      try {
        const input = this.decodeStored(this.run.input, "input");
        const output = await driveAsync(
          walkWorkflow(this.workflow, input, { firstKeptIteration: (loopKey) => this.firstKeptIteration(loopKey) }),
          {
            perform: (effect, scope) => this.perform(effect, scope),
            race: (effect, run) => this.race(effect, run),
            waiting: (e) => e instanceof Park,
            combine: (failures) => combineFailures(failures),
          },
          { signal: this.abort.signal },
        );
        const result = encode(output, this.payload(`output of run "${this.id}"`));
        const end = await this.write(() => store.finish(this.id, this.version, { status: "completed", result }));
        return { outcome: end.ok ? "completed" : end.stopped };
      } catch (e) {
        if (e instanceof Park) {
          if (this.deadline !== null && this.storeNow() >= this.deadline) this.timeOut();
          if (this.timedOut) return await this.settleFailure(this.timedOut);
          // The run's deadline is one more wait, so the store wakes a parked run when it passes.
          const waits: readonly WaitRequest[] =
            this.deadline === null
              ? e.waits
              : [...e.waits, { kind: "timer", key: RUN_TIMEOUT_KEY, reason: "timeout", delayMs: this.deadline - this.storeNow() }];
          const parked = await this.write(() => store.park(this.id, this.version, waits, e.attempts));
          this.version = parked.version;
          if (parked.outcome === "signalled") continue;
          if (parked.outcome === "parked") return { outcome: "parked", version: parked.version, dueAt: parked.dueAt, now: this.storeNow() };
          return { outcome: parked.stopped };
        }
        return await this.settleFailure(this.timedOut && !(e instanceof Stop) ? this.timedOut : e);
      }
    }
  }

  /** The first iteration of the loop committing under `loopKey` that still has an output (see {@link replacedKeys}). */
  private firstKeptIteration(loopKey: string): number | undefined {
    let first: number | undefined;
    for (const key of this.outputs.keys()) {
      const n = iterationOf(key, loopKey);
      if (n !== undefined && (first === undefined || n < first)) first = n;
    }
    return first;
  }

  private async settleFailure(e: unknown): Promise<AdvanceOutcome> {
    if (e instanceof Stop) return { outcome: e.stopped };
    if (e instanceof Release) {
      // A lease of 0: the run is due now, and the next worker resumes it from its last commit.
      for (const [key, attempts] of this.givenBack) {
        await this.write(() => this.options.store.startAttempt(this.id, this.version, key, attempts, 0));
      }
      await this.write(() => this.options.store.touch(this.id, this.version, 0));
      return { outcome: "released", version: this.version, now: this.storeNow() };
    }
    if (isParkwayError(e, StaleVersionError.code)) return { outcome: "lost" };
    if (e instanceof StoreFailure) throw e.error;
    if (e instanceof StoredDataError) {
      recordFailure(this.span, e.error);
      await this.write(() => this.options.store.block(this.id, this.version, serializeError(e.error), this.options.blockedRetryMs));
      return { outcome: "blocked" };
    }
    // With a cancel asked, this write ends the run `cancelled` (the store's cancel wins): not a failure.
    if (!this.cancelling) recordFailure(this.span, e);
    const error = { ...serializeError(e), ...(this.failedStep === null ? {} : { step: this.failedStep }) };
    const end = await this.write(() => this.options.store.finish(this.id, this.version, { status: "failed", error }));
    return { outcome: end.ok ? "failed" : end.stopped };
  }

  private async perform(effect: StepEffect, scope: Scope): Promise<unknown> {
    const committed = this.outputs.get(effect.key);
    if (committed !== undefined) return this.decodeStored(committed, `output of step "${effect.key}"`);
    if (this.stopped) throw this.stopped;
    // A step boundary: no new step starts once the run is cancelled, timed out or its worker shuts down.
    if (this.cancelling) throw this.abort.signal.reason;
    if (this.timedOut) throw this.timedOut;
    if (this.releasing) throw new Release();
    // A branch of a race another branch won starts nothing more.
    if (scope.signal.aborted) throw scope.signal.reason;
    const span = this.startStepSpan(effect);
    const startedAt = performance.now();
    try {
      const output =
        effect.type === "call"
          ? await this.call(effect, span, scope)
          : effect.type === "delay"
            ? await this.delay(effect)
            : await this.takeSignal(effect, scope);
      endSpan(span, "committed");
      if (effect.type === "call") this.recordStepDuration(startedAt, "committed");
      return output;
    } catch (e) {
      const ownFailure = !(
        e instanceof Park ||
        e instanceof Stop ||
        e instanceof Release ||
        this.cancelling ||
        this.timedOut !== null ||
        scope.signal.aborted ||
        e instanceof StoredDataError ||
        e instanceof StoreFailure ||
        isParkwayError(e, StaleVersionError.code)
      );
      if (ownFailure) this.failedStep ??= effect.key;
      endStepSpan(span, e, ownFailure);
      if (effect.type === "call" && ownFailure) this.recordStepDuration(startedAt, "failed");
      throw e;
    }
  }

  /** A task step's time, from its first attempt here to its commit or failure (parks and retries parked for later are not steps ended). */
  private recordStepDuration(startedAt: number, outcome: "committed" | "failed"): void {
    parkwayMetrics().stepDuration.record((performance.now() - startedAt) / 1000, {
      [SpanAttributes.workflow]: this.workflow.name,
      [SpanAttributes.outcome]: outcome,
    });
  }

  private startStepSpan(effect: StepEffect): Span {
    return startSpan(
      `parkway.step ${effect.key}`,
      SpanKind.INTERNAL,
      {
        [SpanAttributes.workflow]: this.workflow.name,
        [SpanAttributes.instanceId]: this.id,
        [SpanAttributes.stepKey]: effect.key,
        [SpanAttributes.stepKind]: effect.type,
        ...(effect.type === "signal" ? { [SpanAttributes.signal]: effect.node.signal } : {}),
      },
      this.trace,
    );
  }

  private async call(effect: CallEffect, span: Span, scope: Scope): Promise<unknown> {
    const { key } = effect;
    const stored = this.run.header.waits.find((w) => w.kind === "timer" && w.key === key && w.reason === "retry");
    const retry =
      this.retriesDue.get(key) ??
      (stored?.kind === "timer" ? { at: stored.until, attempts: this.run.header.attempts[key] ?? 0 } : undefined);
    if (retry && retry.at > this.storeNow()) {
      throw new Park([{ kind: "timer", key, reason: "retry", delayMs: retry.at - this.storeNow() }], { [key]: retry.attempts });
    }
    const step: StepRef = { ref: effect.node.ref, key, instanceId: this.id };
    const input = await checkStepInput(this.workflow, step, effect.input);
    // The task runs with its step span active, so spans it starts itself nest under it.
    const stepTrace = withSpan(this.trace, span);
    let attempts = 0;
    let output: unknown;
    try {
      output = await runStep({
        // Every attempt, first or retried, starts only while this worker still holds the run.
        limit: (attempt) => this.options.limit(attempt),
        // Recorded before the task runs, so an attempt counts even when this worker dies during it.
        beforeAttempt: (n) => this.startAttempt(key, n),
        // An attempt this worker's shutdown aborted is not the task's failure: it is given back.
        afterAttempt: (n, error) => {
          if (error !== undefined && this.releasing && !this.cancelling) this.givenBack.set(key, n - 1);
        },
        final: (error) => error instanceof Release,
        fn: (value, ctx) => otelContext.with(stepTrace, effect.fn, undefined, value, ctx),
        input,
        options: effect.node.options,
        clock: this.options.clock,
        key,
        firstAttempt: (retry?.attempts ?? this.run.header.attempts[key] ?? 0) + 1,
        holdRetriesUpToMs: this.options.holdRetriesUpToMs,
        signal: scope.signal,
        context: (attempt, signal) => {
          attempts = attempt;
          span.setAttribute(SpanAttributes.attempt, attempt);
          return taskContext(this.workflow.name, this.id, key, attempt, signal);
        },
        onRetry: (_attempt, error) => span.recordException(error),
      });
    } catch (e) {
      if (e instanceof RetryLater) {
        span.recordException(e.lastError);
        this.retriesDue.set(key, { at: this.storeNow() + e.delayMs, attempts: e.nextAttempt - 1 });
        throw new Park([{ kind: "timer", key, reason: "retry", delayMs: e.delayMs }], { [key]: e.nextAttempt - 1 });
      }
      // An attempt aborted by shutdown (or kept from starting) lets the run go; its step runs again elsewhere.
      throw this.stopped ?? (this.releasing && !this.cancelling && (e instanceof Release || this.abort.signal.aborted) ? new Release() : e);
    }
    // Outside runStep on purpose: a schema failure is deterministic, so it is never retried.
    const checked = await checkStepOutput(this.workflow, step, output);
    return this.commit(key, checked, attempts);
  }

  private async delay(effect: DelayEffect): Promise<unknown> {
    const deadline = this.run.header.waits.find((w) => w.kind === "timer" && w.key === effect.key && w.reason === "delay");
    // Computed once per walk; the deadline the store keeps is the one of the first park.
    const ms = delayMsAt(effect.wake, this.storeNow());
    const due = ms === 0 || (deadline?.kind === "timer" && deadline.until <= this.storeNow());
    if (!due) throw new Park([{ kind: "timer", key: effect.key, reason: "delay", delayMs: ms }]);
    await this.commit(effect.key, null, 1);
    return undefined;
  }

  private async takeSignal(effect: SignalEffect, scope: Scope): Promise<unknown> {
    const { key, node } = effect;
    const fallback = node.onTimeout === null ? null : encode(node.onTimeout.value, this.payload(`onTimeout value of step "${key}"`));
    const taken = await this.write(async () => {
      // A take consumes the signal for good, so it must not happen for a race branch that already
      // lost. The write before this one may have finished a branch: the microtasks it queued
      // decide that race, so let them run before looking (a loser's signal stays buffered).
      await afterMicrotasks();
      if (scope.signal.aborted) throw scope.signal.reason;
      return this.options.store.takeSignal(this.id, this.version, key, node.signal, fallback, this.options.leaseMs);
    });
    if ("ok" in taken) throw this.stop(taken.stopped, taken.version);
    if (taken.outcome === "none") throw new Park([{ kind: "signal", key, signal: node.signal, timeoutMs: node.timeoutMs }]);
    this.version = taken.version;
    if (taken.outcome === "timeout" && !taken.committed) {
      throw new SignalTimeoutError(`step "${key}" waited for signal "${node.signal}" longer than ${node.timeoutMs}ms`, {
        workflow: this.workflow.name,
        instanceId: this.id,
        step: key,
        signal: node.signal,
      });
    }
    const bytes = taken.outcome === "signal" ? taken.payload : fallback!;
    this.outputs.set(key, bytes);
    const value = this.decodeStored(bytes, `payload of signal "${node.signal}"`);
    this.options.onStep?.({ instanceId: this.id, workflow: this.workflow.name, key, output: value, attempts: 1 });
    return value;
  }

  /** A race's outcome: committed under its key once decided, so a resumed run keeps the same winner. */
  private async race(effect: RaceEffect, run: () => Promise<RaceOutcome>): Promise<unknown> {
    const committed = this.outputs.get(effect.key);
    if (committed !== undefined) return this.decodeStored(committed, `outcome of race "${effect.key}"`);
    return this.commit(effect.key, await run(), 1);
  }

  /**
   * Commits a step's output and returns it as the next step will see it: decoded from
   * the committed bytes, exactly as a resumed run reads it from the store, so a value
   * never differs (a Map, -0, a Date, shared references) by whether the run parked.
   */
  private async commit(key: string, output: unknown, attempts: number): Promise<unknown> {
    const bytes = encode(output, this.payload(`output of step "${key}" of run "${this.id}"`));
    const replaces = replacedKeys(key, this.outputs.keys());
    const result = await this.write(
      () => this.options.store.commit(this.id, this.version, key, bytes, attempts, this.options.leaseMs, replaces),
      true,
    );
    if (!result.ok) throw this.stop(result.stopped, result.version);
    this.version = result.version;
    this.outputs.set(key, bytes);
    for (const replaced of replaces) this.outputs.delete(replaced);
    const committed = this.decodeStored(bytes, `output of step "${key}"`);
    this.options.onStep?.({ instanceId: this.id, workflow: this.workflow.name, key, output: committed, attempts });
    return committed;
  }

  /**
   * Queues a store write behind the run's previous one; refuses once the run
   * was stopped or another worker took it over. A stale version means the
   * lease was lost: abort the tasks still running here. Any other store error
   * becomes a {@link StoreFailure}, never the run's failure.
   */
  private write<T>(operation: () => Promise<T>, renewsLease = false): Promise<T> {
    const next = this.writes.then(async () => {
      if (this.stopped) throw this.stopped;
      if (this.lost) throw this.lost;
      const sentAt = performance.now();
      try {
        const result = await operation();
        if (renewsLease) this.leaseRenewedAt = sentAt;
        return result;
      } catch (e) {
        if (isParkwayError(e, StaleVersionError.code)) {
          this.lost = e;
          this.abort.abort(e);
          throw e;
        }
        if (isParkwayError(e) || e instanceof Stop) throw e;
        throw new StoreFailure(e);
      }
    });
    this.writes = next.catch(() => undefined);
    return next;
  }

  /**
   * Called before every task attempt starts: records the attempt in the store
   * (so `maxAttempts` bounds the attempts across worker deaths) and renews the
   * lease in the same write. A worker that was frozen, starved of CPU or asleep
   * in a long backoff may have lost its lease without knowing: a stale
   * version means another worker took the run over (the attempt must not run:
   * that worker runs the step); a store that does not answer means the lease
   * cannot be vouched for, so this worker lets the run go; a cancel the renewal
   * answers aborts the run's tasks, and this attempt does not start.
   */
  private async startAttempt(key: string, attempt: number): Promise<void> {
    if (this.lost) throw this.lost;
    if (this.stopped) throw this.stopped;
    if (this.cancelling) throw this.abort.signal.reason;
    if (this.releasing) throw new Release();
    try {
      const { requested } = await this.write(
        () => this.options.store.startAttempt(this.id, this.version, key, attempt, this.options.leaseMs),
        true,
      );
      this.onRequested(requested);
      if (this.cancelling) throw this.abort.signal.reason;
      // The shutdown may have begun while the attempt was being recorded: it does not start, and is given back.
      if (this.releasing) {
        this.givenBack.set(key, attempt - 1);
        throw new Release();
      }
    } catch (e) {
      // Aborting stops the retry loop too: no attempt starts while the lease is in doubt.
      if (e instanceof StoreFailure) this.abort.abort(e);
      throw e;
    }
  }

  private stop(stopped: "cancelled" | "paused", version: number): Stop {
    this.version = version;
    this.stopped = new Stop(stopped);
    this.abort.abort(new CancelledError(`run "${this.id}" was ${stopped}`, { instanceId: this.id }));
    return this.stopped;
  }

  /** The store's clock now, extrapolated from its reading at load. */
  private storeNow(): number {
    return this.run.now + (performance.now() - this.loadedAt);
  }

  private decodeStored(bytes: Uint8Array, what: string): unknown {
    try {
      return decode(bytes, `${what} of run "${this.id}"`, { instanceId: this.id, workflow: this.workflow.name });
    } catch (e) {
      throw new StoredDataError(e as CodecError);
    }
  }

  private payload(what: string) {
    return { what, maxBytes: this.options.maxPayloadBytes, context: { instanceId: this.id, workflow: this.workflow.name } };
  }
}
