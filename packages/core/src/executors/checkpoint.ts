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
import type { Compensation, Workflow } from "../builder/workflow.js";
import type { Clock } from "../clock.js";
import { decode, encode } from "../codec/codec.js";
import {
  CancelledError,
  CodecError,
  DefinitionMismatchError,
  isParkwayError,
  RunTimeoutError,
  serializeError,
  type SerializedError,
  SignalTimeoutError,
  StaleVersionError,
  UnknownInstanceError,
  UnknownWorkflowError,
  ValidationError,
} from "../errors.js";
import { parkwayMetrics } from "../metrics.js";
import { checkStepInput, checkStepOutput, type StepRef } from "../schema.js";
import { driveAsync, type Scope, type StepEffect } from "../semantics/drive.js";
import {
  afterEnded,
  childDeliveryId,
  childOutput,
  childSignal,
  defaultChildId,
  readChildOutcome,
  type ChildOutcome,
} from "../semantics/children.js";
import { signalNamesOf } from "../semantics/signals.js";
import { checkWorkflowInput } from "../schema.js";
import { assertId } from "../engine/client.js";
import { RetryLater, runStep } from "../semantics/retry.js";
import {
  compensatedKey,
  compensationKey,
  FAILURE_KEY,
  hasCompensations,
  pendingCompensations,
  type CompensationOutcome,
} from "../semantics/compensation.js";
import {
  delayMsAt,
  walkWorkflow,
  type CallEffect,
  type ChildEffect,
  type DelayEffect,
  type RaceEffect,
  type RaceOutcome,
  type SignalEffect,
} from "../semantics/walk.js";
import { isRateLimit, limitKey, RunSlots, runPriority, type Gate, type Handoff } from "../flow-control/admission.js";
import { parseSlotWaitKey, type SlotHold } from "../flow-control/types.js";
import {
  FINISHED_STATUSES,
  type CommitResult,
  type CommitThen,
  type RunHeader,
  type RunStatus,
  type Store,
  type StoredRun,
  type WaitRequest,
  type WriteResult,
} from "../store/types.js";
import { recordedError, type FailedAttempt } from "../store/history.js";
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
  /**
   * Told of a run that a freed concurrency slot was granted to (with its new version), so it is
   * looked at now rather than at its slot wait's deadline: a worker enqueues its wake-up.
   */
  readonly wake?: (id: string, version: number, reason?: "slot" | "child") => void;
  /**
   * How often a run parked on a child step looks at its child, in case the child's finish notice
   * was lost (its worker died between the finish and the notice). Default {@link DEFAULT_CHILD_RECHECK_MS}.
   */
  readonly childRecheckMs?: number;
}

/** How often a parent parked on a child looks at it when no notice came: a safety net, not the usual path. */
export const DEFAULT_CHILD_RECHECK_MS = 60_000;

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
  /**
   * `dueAt` is when the run next needs a worker, `now` the store's clock, both in store time.
   * `onGrant`: the run waits only for concurrency slots, so the release that grants it one wakes
   * it, and `dueAt` is a fallback (a holder that died, a wake-up lost) the due index's sweep covers.
   */
  | { readonly outcome: "parked"; readonly version: number; readonly dueAt: number | null; readonly now: number; readonly onGrant: boolean }
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
 *
 * `handoff` is offered the runs that the concurrency slots this attempt gives back as it ends
 * are granted to; those it declines are woken through `options.wake`.
 */
export async function advanceRun(
  options: CheckpointOptions,
  id: string,
  parent: Context = otelContext.active(),
  handoff?: Handoff,
): Promise<AdvanceOutcome> {
  if (options.inFlight?.closing) return { outcome: "released", version: 0, now: options.clock.now() };
  // The lease runs from when the acquire was sent: its reply may come late (a frozen or starved process).
  const askedAt = performance.now();
  const acquired = await options.store.acquire(id, options.leaseMs).catch((error: unknown) => {
    // A wake-up for a run deleted or expired since it was sent: nothing to do.
    if (isParkwayError(error, UnknownInstanceError.code)) return { acquired: false, reason: "finished" } as const;
    throw error;
  });
  if (!acquired.acquired && acquired.reason === "cancelled") {
    // The cancel waited for this boundary (the run's worker died): what hangs on the run hears of it now.
    await afterEnded(options.store, acquired.header, (run, version) => options.wake?.(run, version, "child"));
    parkwayMetrics().runsFinished.add(1, { [SpanAttributes.workflow]: acquired.header.workflow, [SpanAttributes.outcome]: "cancelled" });
    return { outcome: "cancelled" };
  }
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
      return new RunSession(options, workflow, acquired.run, span, trace, askedAt, handoff).advance();
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
  /** Aborts the run's tasks in flight; replaced by a fresh one when a timed-out run starts compensating. */
  private abort = new AbortController();
  /** Store writes of one run go one at a time, so each carries the version the previous one produced. */
  private writes: Promise<unknown> = Promise.resolve();
  private stopped: Stop | null = null;
  /** Set when a write found a newer version: another worker owns the run now. */
  private lost: Error | null = null;
  /** Set when a commit no step waited for could not be written: no later write of this session is sent. */
  private broken: StoreFailure | null = null;
  /**
   * The commit queued last, while it waits to be sent: the next step's first attempt, or the run's
   * end, may still ride on it (see {@link commitEncoded}). Null once it is sent.
   */
  private pendingCommit: { then: CommitThen | null; sent: Promise<CommitResult> } | null = null;
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
  /**
   * Set once the release (a lease of 0) is written. A release keeps the run's version, so a lease
   * renewal sent after it (a heartbeat, or a check after a dropped subscription) would lease the
   * run to this worker again, and hold it from the next one for a whole lease: none is sent.
   */
  private letGo = false;
  /** Retries parked in this session whose park answered "signalled": their backoff still holds on the re-walk. */
  private readonly retriesDue = new Map<string, { readonly at: number; readonly attempts: number }>();
  /** Heartbeat details not yet sent, by commit key: one write per key is queued at a time, and sends the latest. */
  private readonly progressDue = new Map<string, Uint8Array>();
  /** Set once the run compensates: a failure from here on ends the run, it does not start compensating again. */
  private compensating = false;
  /** Attempts counts to restore when the run is released: attempts the shutdown aborted do not count. */
  private readonly givenBack = new Map<string, number>();
  /** When the run times out (store time), from its creation and the workflow's `timeout`; null without one. */
  private readonly deadline: number | null;
  /** Set once the run passed its deadline: its tasks are aborted and it fails with this error. */
  private timedOut: RunTimeoutError | null = null;
  /** The slots of concurrency limits this session holds, when the store keeps limits and the workflow has any. */
  private readonly slots: RunSlots | null;
  /** The run's priority among waiters, computed once from its input. */
  private priorityValue: number | null = null;
  /** The child runs started by this run's child steps, by commit key: the stored links, and those made here. */
  private readonly children: Map<string, string>;
  /**
   * Attempts that failed and are not recorded yet: the run's next write carries them (see
   * `store/history.ts`), so a failure costs no write of its own. `failedAt` is this worker's clock.
   */
  private failures: { readonly failed: Omit<FailedAttempt, "agoMs">; readonly failedAt: number }[] = [];

  constructor(
    private readonly options: CheckpointOptions,
    private readonly workflow: Workflow,
    private readonly run: StoredRun,
    /** The run attempt's span, and the context its step spans start under. */
    private readonly span: Span,
    private readonly trace: Context,
    /** Monotonic time the acquire was sent. */
    acquiredAt: number,
    /** Offered the runs that the slots this session gives back as it ends are granted to. */
    private readonly handoff: Handoff | undefined,
  ) {
    this.version = run.header.version;
    this.outputs = new Map(run.outputs);
    this.children = new Map(Object.entries(run.header.children ?? {}));
    this.loadedAt = performance.now();
    this.leaseRenewedAt = acquiredAt;
    // A delayed start's run time counts from its start, not from when it was created.
    this.deadline = workflow.timeoutMs === undefined ? null : (run.header.startAt ?? run.header.createdAt) + workflow.timeoutMs;
    const control = options.store.flowControl;
    const limited = workflow.limits?.concurrency ?? workflow.limits?.rateLimit ?? workflow.stepLimits?.size;
    const wake = (id: string, version: number) => options.wake?.(id, version);
    const closing = () => options.inFlight?.closing ?? false;
    this.slots = control && limited ? new RunSlots(control, this.id, run.header.version, options.leaseMs, wake, closing) : null;
  }

  private get id(): string {
    return this.run.header.id;
  }

  /** Advances the run, then tells whoever hangs on it how it ended (its parent, its children). */
  async advance(): Promise<AdvanceOutcome> {
    const outcome = await this.advanceHeld();
    await this.afterEnd(outcome);
    return outcome;
  }

  /**
   * A run that ended tells its parent, and cancels its children still live (those whose
   * outcome it does not hold: see `semantics/children.ts`).
   *
   * Failure semantics: this is a write after the run's last one. A worker that dies between them
   * leaves the parent without its notice: the parent's `child` timer finds the child ended. A
   * cancel that does not reach a child here leaves it running on its own (cancel it by its id).
   */
  private async afterEnd(advanced: AdvanceOutcome): Promise<void> {
    if (advanced.outcome !== "cancelled" && advanced.outcome !== "completed" && advanced.outcome !== "failed") return;
    const wake = (id: string, version: number) => this.options.wake?.(id, version, "child");
    const { parent } = this.run.header;
    const links = { id: this.id, children: Object.fromEntries(this.children), ...(parent ? { parent } : {}) };
    await afterEnded(this.options.store, links, wake, (key) => this.outputs.has(key));
  }

  private async advanceHeld(): Promise<AdvanceOutcome> {
    // The lease renewal also answers a cancel asked of the run: the fallback when its message was lost.
    const heartbeat = setInterval(() => this.renewLease(), Math.max(50, this.options.leaseMs / 3));
    const unhold = this.options.inFlight?.hold(this.id, this);
    const stopTimeout =
      this.deadline === null ? null : this.options.clock.setTimer(Math.max(0, this.deadline - this.storeNow()), () => this.timeOut());
    try {
      // A run that failed and was compensating when its worker stopped goes on compensating.
      const failed = this.outputs.get(FAILURE_KEY);
      if (failed !== undefined) return await this.compensateAndFail(this.decodeStored(failed, "failure") as SerializedError);
      if (this.deadline !== null && this.storeNow() >= this.deadline) this.timeOut();
      if (this.timedOut) return await this.settleFailure(this.timedOut);
      return (await this.admitRun()) ?? (await this.advanceUntilSettled());
    } finally {
      stopTimeout?.();
      clearInterval(heartbeat);
      // No write of this session outlives it (a commit sent behind a walk that ended without another write).
      await this.writes;
      unhold?.();
      // After the run's last write: a parked or finished run holds no slot.
      await this.slots?.releaseAll(this.handoff);
      if (!this.abort.signal.aborted) this.abort.abort(leftThisWorker(this.id));
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

  /** Renews the lease in the background (a heartbeat, or a cancel message to confirm), and the slots held with it. */
  private renewLease(): void {
    void this.touch().catch(() => undefined);
    // A slot that lapsed (this process was starved past its lease) may be someone else's now:
    // the run lets go at once, as when its lease is lost, and is admitted again wherever it resumes.
    void this.slots
      ?.renew()
      .then((held) => (held ? undefined : this.abortForShutdown()))
      .catch(() => undefined);
  }

  /**
   * The run's own limits, before its walk: a concurrency slot for as long as this session runs
   * it, and a rate limit's admission when the run starts (nothing committed, no wait but its own
   * slot waits). Refused, the run parks on a slot wait; null when admitted (or without limits).
   */
  private async admitRun(): Promise<AdvanceOutcome | null> {
    const limits = this.workflow.limits;
    if (!this.slots || !limits || (!limits.concurrency && !limits.rateLimit)) return null;
    try {
      const input = this.decodeStored(this.run.input, "input");
      const where = `flow "${this.workflow.name}"`;
      const gates: Gate[] = [];
      if (limits.concurrency) {
        const limit = limitKey("flow", "concurrency", this.workflow.name, limits.concurrency, input, where);
        gates.push(this.slots.gate("concurrency", limit, limits.concurrency, this.priority(input), null));
      }
      const starting = this.run.outputs.size === 0 && this.run.header.waits.every((w) => parseSlotWaitKey(w.key)?.step === null);
      if (limits.rateLimit && starting) {
        const limit = limitKey("flow", "rate", this.workflow.name, limits.rateLimit, input, where);
        gates.push(this.slots.gate("rate", limit, limits.rateLimit, this.priority(input), null));
      }
      const admitted = await this.flowControl(() => this.slots!.admit(gates));
      if ("held" in admitted) return null;
      return await this.parkForRunSlot(admitted.gate, admitted.retryInMs);
    } catch (e) {
      return await this.settleFailure(e);
    }
  }

  /**
   * Parks the run on a slot wait, keeping the deadlines of what it waited for before. A signal it
   * waits for that is already buffered (it would not park) leaves its wait out: the run takes the
   * signal once admitted.
   */
  private async parkForRunSlot(gate: Gate, retryInMs: number): Promise<AdvanceOutcome> {
    const now = this.storeNow();
    const slot: WaitRequest = { kind: "timer", key: gate.waitKey, reason: "slot", delayMs: retryInMs };
    const kept = this.run.header.waits
      .filter((w) => parseSlotWaitKey(w.key) === null)
      .map((w): WaitRequest =>
        w.kind === "timer"
          ? { kind: "timer", key: w.key, reason: w.reason, delayMs: Math.max(0, w.until - now) }
          : { kind: "signal", key: w.key, signal: w.signal, timeoutMs: w.timeoutAt === null ? null : Math.max(0, w.timeoutAt - now) },
      );
    let parked = await this.write(() => this.options.store.park(this.id, this.version, [...kept, slot], {}, this.takeFailures()));
    if (parked.outcome === "signalled") {
      this.version = parked.version;
      const timers = kept.filter((w) => w.kind === "timer");
      parked = await this.write(() => this.options.store.park(this.id, this.version, [...timers, slot], {}, this.takeFailures()));
    }
    this.version = parked.version;
    if (parked.outcome === "stopped") return { outcome: parked.stopped };
    if (parked.outcome === "signalled") return { outcome: "released", version: parked.version, now: this.storeNow() };
    return this.parked(parked, [...kept, slot]);
  }

  /** How a park on `waits` ended the session. */
  private parked(parked: { readonly version: number; readonly dueAt: number | null }, waits: readonly WaitRequest[]): AdvanceOutcome {
    const onGrant = waits.every((w) => w.kind === "timer" && w.reason === "slot" && !isRateLimit(parseSlotWaitKey(w.key)?.limit ?? ""));
    return { outcome: "parked", version: parked.version, dueAt: parked.dueAt, now: this.storeNow(), onGrant };
  }

  /** The run's priority among waiters. @throws ValidationError when its priority function fails. */
  private priority(input: unknown): number {
    this.priorityValue ??= runPriority(this.workflow.limits?.priority, input, this.workflow.name);
    return this.priorityValue;
  }

  /** A flow control call: a failure to reach the store lets the run go, as any store failure does. */
  private async flowControl<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (e) {
      throw isParkwayError(e) ? e : new StoreFailure(e);
    }
  }

  /**
   * The gates of a task step's limits (its keys computed from the step's input once, before any
   * attempt: a key function that throws fails the step, never retried), or null without limits.
   */
  private stepGates(effect: CallEffect, input: unknown): ((attempt: number) => Gate[]) | null {
    const limits = this.workflow.stepLimits?.get(effect.node.ref);
    if (!this.slots || !limits) return null;
    const where = `task "${effect.node.id}" (step "${effect.key}")`;
    const slots = this.slots;
    const runInput = this.decodeStored(this.run.input, "input");
    const priority = this.priority(runInput);
    const concurrency = limits.concurrency;
    const rate = limits.rateLimit;
    const concurrencyKey = concurrency ? limitKey("task", "concurrency", effect.node.id, concurrency, input, where) : null;
    const rateKey = rate ? limitKey("task", "rate", effect.node.id, rate, input, where) : null;
    return (attempt) => [
      ...(concurrency && concurrencyKey ? [slots.gate("concurrency", concurrencyKey, concurrency, priority, effect.key)] : []),
      ...(rate && rateKey ? [slots.gate("rate", rateKey, rate, priority, effect.key, attempt)] : []),
    ];
  }

  /** Admits one attempt of a limited step, or parks the step on a slot wait (its attempts so far kept). */
  private async admitAttempt(gates: readonly Gate[], key: string, attempt: number): Promise<readonly SlotHold[]> {
    const admitted = await this.flowControl(() => this.slots!.admit(gates));
    if ("held" in admitted) return admitted.held;
    const wait: WaitRequest = { kind: "timer", key: admitted.gate.waitKey, reason: "slot", delayMs: admitted.retryInMs };
    throw new Park([wait], attempt > 1 ? { [key]: attempt - 1 } : {});
  }

  /** An attempt of step `key` failed with `error`; `retryInMs` says when the next is due (null: none follows). */
  private noteFailure(key: string, attempt: number, error: unknown, failedAt: number, retryInMs: number | null): void {
    this.failures.push({ failed: { key, attempt, error: recordedError(serializeError(error), { stack: true }), retryInMs }, failedAt });
  }

  /** The failed attempts not recorded yet, for the write about to be sent (their age measured now). */
  private takeFailures(): FailedAttempt[] {
    if (this.failures.length === 0) return [];
    const now = this.options.clock.now();
    const taken = this.failures.map(({ failed, failedAt }) => ({ ...failed, agoMs: Math.max(0, now - failedAt) }));
    this.failures = [];
    return taken;
  }

  /** Renews the lease; when the store answers that a cancel was asked, aborts the tasks in flight. */
  private async touch(): Promise<void> {
    const { requested } = await this.write(
      () => this.options.store.touch(this.id, this.version, this.options.leaseMs, this.takeFailures()),
      true,
    );
    this.onRequested(requested);
  }

  /**
   * `ctx.heartbeat` of step `key`: renews the lease and records the details, in the background.
   * Coalesced: while a heartbeat of the step waits for its turn to be written, a newer one only
   * replaces its details. A heartbeat that cannot be written (the run stopped, the store is
   * down) is dropped: progress is a hint, and the lease has its own renewal.
   */
  private heartbeat(key: string, details: Uint8Array): void {
    const queued = this.progressDue.has(key);
    this.progressDue.set(key, details);
    if (queued) return;
    const send = async () => {
      const latest = this.progressDue.get(key)!;
      this.progressDue.delete(key);
      return this.options.store.heartbeat(this.id, this.version, key, latest, this.options.leaseMs);
    };
    void this.write(send, true).then(
      ({ requested }) => this.onRequested(requested),
      () => undefined,
    );
  }

  /** What a lease renewal answered: a cancel asked of the run aborts its tasks in flight. */
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
            child: (effect, scope) => this.perform(effect, scope),
            waiting: (e) => e instanceof Park,
            combine: (failures) => combineFailures(failures),
          },
          { signal: this.abort.signal },
        );
        const result = encode(output, this.payload(`output of run "${this.id}"`));
        const end = await this.complete(result);
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
          let parked: Awaited<ReturnType<Store["park"]>>;
          try {
            parked = await this.write(() => store.park(this.id, this.version, waits, e.attempts, this.takeFailures()));
          } catch (failed) {
            // A commit sent behind the walk was stopped or fenced, or could not be written.
            return await this.settleFailure(failed);
          }
          this.version = parked.version;
          if (parked.outcome === "signalled") continue;
          if (parked.outcome === "parked") return this.parked(parked, waits);
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
        await this.write(() => this.options.store.startAttempt(this.id, this.version, key, attempts, 0, this.takeFailures()));
      }
      await this.write(async () => {
        const released = await this.options.store.touch(this.id, this.version, 0, this.takeFailures());
        this.letGo = true;
        return released;
      });
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
    if (!this.cancelling && !this.compensating && hasCompensations(this.workflow)) return this.compensateAndFail(error);
    const end = await this.write(() => this.options.store.finish(this.id, this.version, { status: "failed", error }, this.takeFailures()));
    return { outcome: end.ok ? "failed" : end.stopped };
  }

  /**
   * Undoes the committed steps of a failed run (see `semantics/compensation.ts`), then ends it
   * `failed` with `error`, the run's own failure, and the compensations that gave up.
   *
   * Failure semantics: the failure is committed first (under `#failed`), so a worker that
   * dies while compensating leaves a run the next worker goes on compensating, never one that
   * runs the failed step again. Each compensation commits once; one whose worker died before
   * its commit runs again (at least once, like a task: use `ctx.idempotencyKey`). Attempts are
   * held by the worker, never parked. A cancel asked meanwhile stops at the next commit.
   */
  private async compensateAndFail(error: SerializedError): Promise<AdvanceOutcome> {
    this.compensating = true;
    // A timed-out run's tasks were aborted; its compensations get a signal of their own.
    if (this.abort.signal.aborted && this.timedOut && !this.cancelling && !this.stopped && !this.lost) this.abort = new AbortController();
    try {
      const order = await this.write(() => this.options.store.commitOrder(this.id));
      const pending = pendingCompensations(this.workflow, order);
      // Each commit is written before the next compensation runs: a compensation starts no write of its own.
      const commit = async (key: string, output: unknown, attempts: number) =>
        void (await this.queueCommit(key, this.encodeOutput(key, output), attempts).sent);
      if (pending.length > 0 && !this.outputs.has(FAILURE_KEY)) await commit(FAILURE_KEY, error, 1);
      for (const { key, compensation } of pending) {
        const { outcome, attempts } = await this.runCompensation(key, compensation);
        await commit(compensationKey(key), outcome, attempts);
      }
    } catch (e) {
      return this.settleFailure(e);
    }
    const gaveUp = [...this.outputs].flatMap(([key, bytes]) => {
      const undone = compensatedKey(key);
      if (undone === null) return [];
      const outcome = this.decodeStored(bytes, `outcome of "${key}"`) as CompensationOutcome;
      return outcome.compensated ? [] : [{ ...outcome.error, step: undone }];
    });
    const failed = gaveUp.length === 0 ? error : { ...error, compensations: gaveUp };
    const end = await this.write(() =>
      this.options.store.finish(this.id, this.version, { status: "failed", error: failed }, this.takeFailures()),
    );
    return { outcome: end.ok ? "failed" : end.stopped };
  }

  /** Runs one compensation with its task's retry policy and timeout; a failure after its attempts is its outcome, not thrown. */
  private async runCompensation(
    key: string,
    compensation: Compensation,
  ): Promise<{ readonly outcome: CompensationOutcome; readonly attempts: number }> {
    const compKey = compensationKey(key);
    const input = this.decodeStored(this.outputs.get(key)!, `output of step "${key}"`);
    let attempts = 0;
    try {
      await runStep({
        limit: (attempt) => this.options.limit(async () => (await this.holdLease(), attempt())),
        final: (e) => e instanceof Release,
        fn: compensation.fn,
        input,
        options: compensation.options,
        clock: this.options.clock,
        key: compKey,
        signal: this.abort.signal,
        context: (attempt, signal) => {
          attempts = attempt;
          return taskContext(this.workflow.name, this.id, compKey, attempt, signal, (bytes) => this.heartbeat(compKey, bytes));
        },
      });
      return { outcome: { compensated: true }, attempts };
    } catch (e) {
      // Not the compensation's own failure: the run stopped, was taken over or let go here.
      if (this.stopped || this.lost || this.cancelling) throw this.stopped ?? this.lost ?? e;
      if (e instanceof Release || this.releasing) throw new Release();
      if (e instanceof StoreFailure) throw e;
      return { outcome: { compensated: false, error: serializeError(e) }, attempts: Math.max(1, attempts) };
    }
  }

  private async perform(effect: StepEffect | ChildEffect, scope: Scope): Promise<unknown> {
    const committed = this.outputs.get(effect.key);
    if (committed !== undefined) {
      const stored = this.decodeStored(committed, `output of step "${effect.key}"`);
      return effect.type === "child" ? this.childOutput(effect, stored as ChildOutcome) : stored;
    }
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
            : effect.type === "child"
              ? await this.child(effect, scope)
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

  private startStepSpan(effect: StepEffect | ChildEffect): Span {
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
    const firstAttempt = (retry?.attempts ?? this.run.header.attempts[key] ?? 0) + 1;
    // Hook: a limited task's every attempt is admitted by its limits first, and gives its slot back when it ends.
    const gates = this.stepGates(effect, input);
    let tries = 0;
    // The latest attempt that failed: noted for the run's history once it is known whether a retry follows.
    let failed: { readonly attempt: number; readonly error: unknown; readonly at: number } | null = null;
    const noteFailed = (retryInMs: number | null) => {
      if (failed) this.noteFailure(key, failed.attempt, failed.error, failed.at, retryInMs);
      failed = null;
    };
    try {
      output = await runStep({
        // Every attempt, first or retried, starts only while this worker still holds the run.
        // A limited step is admitted before it queues for this worker's step concurrency, so a step
        // waiting for a slot parks instead of taking the worker's place.
        limit: async (attempt) => {
          const n = firstAttempt + tries++;
          const held = gates ? await this.admitAttempt(gates(n), key, n) : [];
          try {
            return await this.options.limit(attempt);
          } finally {
            for (const hold of held) await this.slots!.release(hold);
          }
        },
        // Recorded before the task runs (renewing the lease), so an attempt counts even when this worker dies during it.
        beforeAttempt: (n) => this.startAttempt(key, n),
        // An attempt this worker's shutdown aborted is not the task's failure: it is given back.
        afterAttempt: (n, error) => {
          if (error === undefined) return;
          if (this.releasing && !this.cancelling) this.givenBack.set(key, n - 1);
          else failed = { attempt: n, error, at: this.options.clock.now() };
        },
        // Not allowed to start (the worker lets go, or the step waits for a slot): never retried.
        final: (error) => error instanceof Release || error instanceof Park,
        fn: (value, ctx) => otelContext.with(stepTrace, effect.fn, undefined, value, ctx),
        input,
        options: effect.node.options,
        clock: this.options.clock,
        key,
        firstAttempt,
        holdRetriesUpToMs: this.options.holdRetriesUpToMs,
        signal: scope.signal,
        context: (attempt, signal) => {
          attempts = attempt;
          span.setAttribute(SpanAttributes.attempt, attempt);
          return taskContext(this.workflow.name, this.id, key, attempt, signal, (bytes) => this.heartbeat(key, bytes));
        },
        onRetry: (_attempt, error, delayMs) => {
          span.recordException(error);
          noteFailed(delayMs);
        },
      });
    } catch (e) {
      if (e instanceof RetryLater) {
        span.recordException(e.lastError);
        noteFailed(e.delayMs);
        this.retriesDue.set(key, { at: this.storeNow() + e.delayMs, attempts: e.nextAttempt - 1 });
        throw new Park([{ kind: "timer", key, reason: "retry", delayMs: e.delayMs }], { [key]: e.nextAttempt - 1 });
      }
      // An attempt aborted by shutdown (or kept from starting) lets the run go; its step runs again elsewhere.
      const thrown =
        this.stopped ?? (this.releasing && !this.cancelling && (e instanceof Release || this.abort.signal.aborted) ? new Release() : e);
      if (!(thrown instanceof Release)) noteFailed(null);
      throw thrown;
    }
    let bytes: Uint8Array;
    try {
      // Outside runStep on purpose: a schema failure is deterministic, so it is never retried.
      bytes = this.encodeOutput(key, await checkStepOutput(this.workflow, step, output));
    } catch (e) {
      // The attempt returned what its schema or the codec refuses: it failed, and no retry follows.
      this.noteFailure(key, attempts, e, this.options.clock.now(), null);
      throw e;
    }
    return this.commitEncoded(key, bytes, attempts);
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

  /**
   * A child step (see `semantics/children.ts`): records the child on this run, starts it unless
   * it was, then takes the child's finish notice as the step's output, or parks until it comes
   * (with a `child` timer that looks at the child, in case the notice was lost).
   *
   * Failure semantics: the child is recorded on this run before it exists and is created linked
   * to it, so cancelling this run reaches it whichever worker dies where. It is started at most
   * once per id (start-if-absent), however often this step is walked: a worker that dies after
   * recording it leaves the start to the next walk. The child's failure is committed as the
   * step's outcome and fails the step with `ChildRunFailedError`, never retried.
   */
  private async child(effect: ChildEffect, scope: Scope): Promise<unknown> {
    const { key } = effect;
    const recorded = this.children.get(key);
    const childId = recorded ?? effect.instanceId ?? defaultChildId(this.id, key);
    const signal = childSignal(key);
    // A child not recorded yet has sent nothing.
    let notice = recorded === undefined ? null : await this.takeChildNotice(key, signal, scope);
    if (notice === null) {
      // No notice yet. Until this run parked on its child, the child may not exist (a worker died
      // after recording it); once it did, it was started, and one that ended and went since is
      // not started again. It may also have ended before it was linked, or its notice was lost.
      const parkedOnIt = this.run.header.waits.some((w) => w.kind === "signal" && w.key === key);
      const status = parkedOnIt ? null : await this.startChild(effect, childId, recorded === undefined);
      const outcome =
        status === null || FINISHED_STATUSES.includes(status)
          ? await this.write(() => readChildOutcome(this.options.store, childId))
          : null;
      if (outcome !== null) {
        await this.write(() => this.options.store.signal(this.id, signal, outcome, childDeliveryId(childId)));
        notice = await this.takeChildNotice(key, signal, scope);
      }
    }
    if (notice === null) {
      const recheckMs = this.options.childRecheckMs ?? DEFAULT_CHILD_RECHECK_MS;
      throw new Park([
        { kind: "signal", key, signal, timeoutMs: null },
        { kind: "timer", key, reason: "child", delayMs: recheckMs },
      ]);
    }
    const outcome = this.decodeStored(notice, `outcome of child step "${key}"`) as ChildOutcome;
    this.options.onStep?.({ instanceId: this.id, workflow: this.workflow.name, key, output: outcome, attempts: 1 });
    return this.childOutput(effect, outcome);
  }

  private childOutput(effect: ChildEffect, outcome: ChildOutcome): unknown {
    return childOutput(outcome, { instanceId: this.id, workflow: this.workflow.name, step: effect.key });
  }

  /**
   * Starts the child run linked to this run, or finds it started; a new child is woken at once.
   * Returns its status. With `record`, the child's id is recorded on this run first, once its
   * input passed its checks (a child refused never shows in `children`). Like a task's attempt,
   * the child is recorded and started only while this worker holds the run and no cancel was
   * asked of it, so a worker frozen past its lease creates no child.
   */
  private async startChild(effect: ChildEffect, childId: string, record: boolean): Promise<RunStatus> {
    const { key, workflow: child } = effect;
    const store = this.options.store;
    assertId(childId, `instance id of the child run of step "${key}"`);
    const input = await checkWorkflowInput(child, effect.input, childId);
    const bytes = encode(input, this.payload(`input of child run "${childId}" (step "${key}")`));
    await this.holdLease();
    if (record) {
      await this.write(() => store.linkChild(this.id, key, childId));
      this.children.set(key, childId);
    }
    const link = { id: this.id, key };
    const started = await this.write(() =>
      store.start({ id: childId, workflow: child.name, hash: child.hash, input: bytes, signals: signalNamesOf(child.root), parent: link }),
    );
    const context = { instanceId: this.id, step: key, child: childId };
    if (started.header.workflow !== child.name) {
      throw new ValidationError(
        `child step "${key}": run "${childId}" exists as a run of workflow "${started.header.workflow}", not of "${child.name}"`,
        context,
      );
    }
    // A run of the child's workflow that exists without a parent (started on its own) is adopted.
    const parent = started.header.parent ?? (await this.write(() => store.linkParent(childId, link)));
    if (parent.id !== this.id || parent.key !== key) {
      throw new ValidationError(
        `child step "${key}": run "${childId}" is already the child of step "${parent.key}" of run "${parent.id}"`,
        context,
      );
    }
    if (started.created) {
      parkwayMetrics().runsStarted.add(1, { [SpanAttributes.workflow]: child.name });
      this.options.wake?.(childId, started.header.version, "child");
    }
    return started.header.status;
  }

  /** Takes the child's finish notice as the step's output (committed), or null when none came yet. */
  private async takeChildNotice(key: string, signal: string, scope: Scope): Promise<Uint8Array | null> {
    const taken = await this.write(async () => {
      // As for a signal step: a race branch that lost takes nothing.
      await afterMicrotasks();
      if (scope.signal.aborted) throw scope.signal.reason;
      return this.options.store.takeSignal(this.id, this.version, key, signal, null, this.options.leaseMs);
    });
    if ("ok" in taken) throw this.stop(taken.stopped, taken.version);
    if (taken.outcome !== "signal") return null;
    this.version = taken.version;
    this.outputs.set(key, taken.payload);
    return taken.payload;
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
    return this.commitEncoded(key, this.encodeOutput(key, output), attempts);
  }

  /** A step's output as it is committed. @throws CodecError, PayloadTooLargeError */
  private encodeOutput(key: string, output: unknown): Uint8Array {
    return encode(output, this.payload(`output of step "${key}" of run "${this.id}"`));
  }

  /**
   * {@link commit} of an output already encoded, sent behind the walk: the commit is queued and
   * waits one macrotask before it is sent, while the walk goes on with the committed value. What
   * the walk reaches meanwhile rides on it, in the same write: the next step's first attempt
   * ({@link startAttempt}) or the run's completion ({@link complete}). So a step costs the store
   * one write, not two.
   *
   * Failure semantics: no task attempt starts before the commit before it is acknowledged (its
   * start rides on that commit, or is a write queued after it), nor does a compensation (its
   * commits are awaited, see {@link compensateAndFail}). What the walk computes in between (the next
   * step's input, a route's key, a loop's decision) is computed again by a resumed run. A commit
   * that is stopped (cancel, pause), fenced (stale version) or cannot be written stops the session
   * at its next write, as it would have at the commit.
   */
  private commitEncoded(key: string, bytes: Uint8Array, attempts: number): unknown {
    return this.queueCommit(key, bytes, attempts).value;
  }

  /** Queues the commit of `bytes` under `key` (see {@link commitEncoded}): the committed value, and the write once sent. */
  private queueCommit(key: string, bytes: Uint8Array, attempts: number): { value: unknown; sent: Promise<CommitResult> } {
    const value = this.decodeStored(bytes, `output of step "${key}"`);
    const replaces = replacedKeys(key, this.outputs.keys());
    const pending: { then: CommitThen | null; sent: Promise<CommitResult> } = {
      then: null,
      sent: Promise.resolve({ ok: true, version: 0 }),
    };
    this.pendingCommit = pending;
    pending.sent = this.write(async () => {
      // Let the walk reach its next step's attempt, or its end, before the commit is sent.
      await afterMicrotasks();
      if (this.pendingCommit === pending) this.pendingCommit = null;
      const { store, leaseMs } = this.options;
      const then = pending.then ?? undefined;
      const result = await store
        .commit(this.id, this.version, key, bytes, attempts, leaseMs, replaces, this.takeFailures(), then)
        .catch((e: unknown) => {
          if (!isParkwayError(e)) this.broken ??= new StoreFailure(e);
          throw e;
        });
      if (!result.ok) throw this.stop(result.stopped, result.version);
      this.version = result.version;
      this.options.onStep?.({ instanceId: this.id, workflow: this.workflow.name, key, output: value, attempts });
      return result;
    }, true);
    // A failure reaches the walk at the session's next write (stopped, lost or broken), or whoever waits for `sent`.
    pending.sent.catch(() => undefined);
    this.outputs.set(key, bytes);
    for (const replaced of replaces) this.outputs.delete(replaced);
    return { value, sent: pending.sent };
  }

  /**
   * Ends the run `completed` with `result`: riding on the commit of its last step when that commit
   * is not sent yet, else with a write of its own.
   */
  private async complete(result: Uint8Array): Promise<WriteResult> {
    const pending = this.pendingCommit;
    if (pending !== null && pending.then === null) {
      pending.then = { complete: result };
      const committed = await pending.sent;
      return { ok: true, version: committed.version };
    }
    return this.write(() => this.options.store.finish(this.id, this.version, { status: "completed", result }, this.takeFailures()));
  }

  /**
   * Queues a store write behind the run's previous one; refuses once the run
   * was stopped, released, or another worker took it over. A stale version means the
   * lease was lost: abort the tasks still running here. Any other store error
   * becomes a {@link StoreFailure}, never the run's failure.
   */
  private write<T>(operation: () => Promise<T>, renewsLease = false): Promise<T> {
    const next = this.writes.then(async () => {
      if (this.stopped) throw this.stopped;
      if (this.lost) throw this.lost;
      if (this.broken) throw this.broken;
      if (this.letGo) throw new Release();
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
   * Renews the lease before a compensation's attempt when it is over half a lease old (a
   * compensation has no attempt of its own to record), and refuses to start while the run is
   * being let go or stopped.
   */
  private async holdLease(): Promise<void> {
    if (this.lost) throw this.lost;
    if (this.stopped) throw this.stopped;
    if (this.cancelling) throw this.abort.signal.reason;
    if (this.releasing) throw new Release();
    if (performance.now() - this.leaseRenewedAt <= this.options.leaseMs / 2) return;
    try {
      await this.touch();
      this.assertLeaseHeld();
      if (this.cancelling) throw this.abort.signal.reason;
      // Shutdown may have begun while the renewal was on its way (a slow or reconnecting Redis).
      if (this.releasing) throw new Release();
    } catch (e) {
      // Aborting stops the retry loop too: no attempt starts while the lease is in doubt.
      if (e instanceof StoreFailure) this.abort.abort(e);
      throw e;
    }
  }

  /**
   * Called before every task attempt starts: records the attempt in the store
   * (so `maxAttempts` bounds the attempts across worker deaths) and renews the
   * lease in the same write. A worker that was frozen, starved of CPU or asleep
   * in a long backoff may have lost its lease without knowing: a stale
   * version means another worker took the run over (the attempt must not run:
   * that worker runs the step); a store that does not answer, or whose answer
   * is read only after the lease it set ran out (the worker froze between the
   * two), means the lease cannot be vouched for, so this worker lets the run go
   * and the attempt does not start; a cancel the renewal answers aborts the
   * run's tasks, and this attempt does not start.
   */
  private async startAttempt(key: string, attempt: number): Promise<void> {
    if (this.lost) throw this.lost;
    if (this.stopped) throw this.stopped;
    if (this.cancelling) throw this.abort.signal.reason;
    if (this.releasing) throw new Release();
    try {
      const pending = this.pendingCommit;
      let requested: "cancel" | "pause" | null = null;
      if (pending !== null && pending.then === null) {
        // Rides on the commit before it: a commit that went through had nothing asked of the run.
        pending.then = { startAttempt: { key, attempt } };
        await pending.sent;
      } else {
        ({ requested } = await this.write(
          () => this.options.store.startAttempt(this.id, this.version, key, attempt, this.options.leaseMs, this.takeFailures()),
          true,
        ));
      }
      this.onRequested(requested);
      this.assertLeaseHeld();
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

  /**
   * Throws when the lease the last renewal set has run out by this process's clock: its answer
   * was read late (the process was frozen or starved between the store's answer and now), and
   * vouches for nothing any more. Another worker may hold the run: no attempt starts on it.
   */
  private assertLeaseHeld(): void {
    const age = performance.now() - this.leaseRenewedAt;
    if (age < this.options.leaseMs) return;
    throw new StoreFailure(
      new Error(
        `the lease of run "${this.id}" had run out ${Math.round(age - this.options.leaseMs)}ms before its renewal's answer was read`,
      ),
    );
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

/**
 * The reason a session's signal aborts once its run has left this worker (parked, finished or let
 * go): what of the walk still waits on it (a branch that lost a race, a backoff) stops. Made without
 * a stack, which would always point here: capturing one cost a linear-1 run about 4% of its
 * worker's CPU (a CPU profile of one worker draining 5,000 runs).
 */
function leftThisWorker(id: string): CancelledError {
  const limit = Error.stackTraceLimit;
  try {
    Error.stackTraceLimit = 0;
  } catch {
    // Frozen intrinsics (node --frozen-intrinsics, a lockdown): the error gets its stack.
  }
  try {
    return new CancelledError(`run "${id}" left this worker`, { instanceId: id });
  } finally {
    if (Error.stackTraceLimit !== limit) Error.stackTraceLimit = limit;
  }
}
