/**
 * The client API of a durable engine, written once over a `Store` and a way to
 * wake runs. The memory engine wakes runs with in-process timers; the BullMQ
 * client wakes them with jobs. Everything else is the same code.
 */
import { context as otelContext, type Context } from "@opentelemetry/api";
import { isSignalDefinition, type SignalDefinition } from "../builder/signal.js";
import { isBuiltWorkflow, type Workflow } from "../builder/workflow.js";
import { type Clock, realClock } from "../clock.js";
import { decode, DEFAULT_MAX_PAYLOAD_BYTES, encode } from "../codec/codec.js";
import { type Duration, toMs } from "../duration.js";
import { newId } from "../ids.js";
import {
  CancelledError,
  ClosedError,
  deserializeError,
  ResultTimeoutError,
  RunExistsError,
  RunFailedError,
  UnexpectedSignalError,
  UnknownInstanceError,
  UnknownStepError,
  ValidationError,
  type SerializedError,
} from "../errors.js";
import type {
  ControlResult,
  CountQuery,
  ListQuery,
  RunHeader,
  RunLink,
  RunStatus,
  SignalTarget,
  Store,
  StoredRun,
  Wait,
} from "../store/types.js";
import { FINISHED_STATUSES } from "../store/types.js";
import { decodeListCursor } from "../store/cursor.js";
import { LIST_ORDERS } from "../store/list-order.js";
import { checkWorkflowInput, validateWith } from "../schema.js";
import { reachableSignals, signalNamesOf } from "../semantics/signals.js";
import { RunHandle } from "./handle.js";
import { cancelRun, INTERNAL_SIGNAL_PREFIX } from "../semantics/children.js";
import { inSpan, SpanAttributes, SpanKind } from "../tracing.js";
import { assertWellFormed } from "../well-formed.js";
import { resolveLogger, type Logger } from "../logger.js";
import { parkwayMetrics } from "../metrics.js";
import { checkOptions, optionNames } from "../options.js";
import { checkMigrateOptions, definitionKeys, purgeRuns, rewindKeys } from "./lifecycle.js";
import type { WorkflowRegistry } from "./registry.js";
import { notBeforeOf, type DelayedStartOptions } from "./start-at.js";
import { Schedules } from "./schedules.js";
import { runWarnings, type RunWarning, type WorkerDirectory, type WorkerInfo } from "./workers.js";
import type { MigrateOptions, PurgeQuery, RewindOptions } from "./lifecycle.js";
import {
  BUFFERED_SIGNALS_SHOWN,
  NO_BUFFERED_SIGNALS,
  NO_TIMING,
  SIGNAL_PREVIEW_BYTES,
  stepTiming,
  viewBufferedSignals,
  viewHistory,
  viewWaits,
  type BufferedSignalsView,
  type StepTiming,
} from "./run-views.js";
import type { RunEvent } from "../store/history.js";

export type { MigrateOptions, PurgeQuery, RewindOptions } from "./lifecycle.js";
export type { BufferedSignalsView, BufferedSignalView, StepTiming } from "./run-views.js";

/** Why a run is woken; part of a wake-up's identity, so a wake of one kind never collapses into another. */
export type WakeReason = "start" | "signal" | "resume" | "timer" | "lease" | "sweep" | "slot" | "child";

/** A request to look at a run again. */
export interface Wake {
  readonly reason: WakeReason;
  /** The run's version when the wake was asked for: two wakes of one reason differ by version. */
  readonly version: number;
  /** When (store time) the run is due; null for now. */
  readonly dueAt: number | null;
  /** The store's clock when `dueAt` was read, to turn it into a delay without trusting local clocks. */
  readonly now?: number;
  /**
   * The OpenTelemetry context the wake-up belongs to: the run attempt it causes becomes a child
   * of this context's span (a waker that crosses processes carries it along). Absent: the
   * context active when `wake` is called.
   */
  readonly trace?: Context;
}

/** How a client makes a run look at itself again: a timer, a queue job. A hint only: the store is the truth. */
export interface Waker {
  /** Asks a worker to advance run `id` at `wake.dueAt`, or now. */
  wake(id: string, wake: Wake): Promise<void>;
  /** The run ended or was cancelled: pending wake-ups for it may be dropped. */
  forget?(id: string): Promise<void>;
  /** A schedule was written: one whose due time moved may need looking at sooner than planned. */
  schedulesChanged?(): void;
  close?(): Promise<void>;
}

export interface SendSignalOptions {
  /**
   * Identifies this delivery: sending a signal again with a delivery id the run
   * has seen (within 24 hours on Redis) buffers nothing more. Generated when absent.
   */
  readonly deliveryId?: string;
}

export interface StartOptions extends DelayedStartOptions {
  /** The instance id; generated when absent. What an id that exists means is `onConflict`'s. */
  readonly id?: string;
  /**
   * What to do when a run with this id exists: `"useExisting"` (default) returns it and
   * starts nothing (a run of another workflow is a `ValidationError`); `"fail"` throws
   * `RunExistsError`; `"terminateExisting"` cancels and deletes it (live or finished)
   * and starts afresh under the same id.
   */
  readonly onConflict?: "useExisting" | "fail" | "terminateExisting";
}

/** What `signalWithStart` takes: the id is required (it names the run to signal), the rest as `start`, and a delivery id. */
export interface SignalWithStartOptions extends DelayedStartOptions, SendSignalOptions {
  /** The instance id of the run to signal, started when it does not exist. */
  readonly id: string;
}

export { RunHandle };

/** What `list` takes: the store's query, with the creation and finish ranges also as `Date`s. */
export type ListRunsQuery = Omit<ListQuery, "createdAfter" | "createdBefore" | "finishedAfter" | "finishedBefore"> & {
  /** Only runs created at or after this (a `Date`, or ms since the epoch). */
  readonly createdAfter?: number | Date;
  /** Only runs created before this (a `Date`, or ms since the epoch). */
  readonly createdBefore?: number | Date;
  /**
   * Only runs that finished at or after this (a `Date`, or ms since the epoch). With either finished
   * bound, runs are listed by when they finished, and a live run never matches.
   */
  readonly finishedAfter?: number | Date;
  /** Only runs that finished before this (a `Date`, or ms since the epoch). */
  readonly finishedBefore?: number | Date;
};

/** The latest progress a step reported with `ctx.heartbeat(details)`, as `status` shows it. */
export interface ProgressView {
  readonly details: unknown;
  /** When it was recorded (store time, ms since the epoch). */
  readonly at: number;
}

/**
 * A committed step, as `status` shows it, with when it ran and how its attempts ended
 * ({@link StepTiming}). A failed run's compensations are steps too:
 * `#failed` holds the run's error while it compensates, `<key>#compensate` says whether the
 * step committed under `<key>` was undone (`{ compensated: true }`) or not (`{ compensated: false, error }`).
 */
export interface StepView extends StepTiming {
  readonly key: string;
  /** Attempts spent (a step that is not a task: 1). */
  readonly attempts: number;
  readonly output: unknown;
  /** The step's last heartbeat details, when it sent any. */
  readonly progress?: ProgressView;
}

/** A run as `status` shows it. */
export interface RunView {
  readonly id: string;
  readonly workflow: string;
  readonly hash: string;
  readonly status: RunStatus;
  readonly version: number;
  /** What a parked run waits for. */
  readonly waitingFor: readonly Wait[];
  readonly error: SerializedError | null;
  readonly requested: "cancel" | "pause" | null;
  readonly steps: readonly StepView[];
  /**
   * The timing of every step with an attempt record, by commit key: committed steps (as in
   * `steps`), and steps running, waiting to retry (`lastError` says why) or failed.
   */
  readonly timings: Readonly<Record<string, StepTiming>>;
  /** The latest heartbeat of every step that sent one, by commit key: steps running now included. */
  readonly progress: Readonly<Record<string, ProgressView>>;
  readonly input: unknown;
  readonly output: unknown;
  readonly dueAt: number | null;
  readonly createdAt: number;
  readonly updatedAt: number;
  /** When the run finished (store time); null while it is live. */
  readonly finishedAt: number | null;
  /**
   * The signals sent to the run that no step has taken yet (sent before the run waits for them, or
   * under a name it does not wait for), the oldest first; read only when `status` is asked.
   */
  readonly buffered: BufferedSignalsView;
  /**
   * What the status alone does not say: an unfinished run whose workflow no live worker
   * registers (or none with the run's definition). Empty for a finished run, and for a
   * client that cannot see workers.
   */
  readonly warnings: readonly RunWarning[];
  /** The run and step that started this run as a child (`.child(...)`), or null. */
  readonly parent: RunLink | null;
  /** The child runs this run started: the commit key of each child step and the child's instance id. */
  readonly children: readonly { readonly key: string; readonly id: string }[];
}

/** A run as `list` shows it. */
export type RunSummary = Pick<RunHeader, "id" | "workflow" | "status" | "createdAt" | "updatedAt" | "dueAt"> & {
  /** When the run finished (store time); null while it is live. */
  readonly finishedAt: number | null;
  readonly error: SerializedError | null;
};

export interface ClientOptions {
  readonly store: Store;
  readonly waker: Waker;
  /** Lets `start` take a workflow by name. */
  readonly workflows?: WorkflowRegistry;
  readonly clock?: Clock;
  readonly maxPayloadBytes?: number;
  /** Where warnings go (a wake-up that could not be sent); silent by default. */
  readonly logger?: Logger;
  /** Where the live workers are listed (`workers()`, and the warnings of `status`). */
  readonly workers?: WorkerDirectory;
}

const START_OPTIONS = optionNames<StartOptions>({ id: true, startAt: true, delay: true, onConflict: true });
const SIGNAL_WITH_START_OPTIONS = optionNames<SignalWithStartOptions>({ id: true, startAt: true, delay: true, deliveryId: true });
const ON_CONFLICT: readonly string[] = ["useExisting", "fail", "terminateExisting"];
const SIGNAL_OPTIONS = optionNames<SendSignalOptions>({ deliveryId: true });

/** Longest wait between two reads of a run in `result()`, whatever the notifications say. */
const RESULT_RECHECK_MS = 5_000;

const STATUSES: readonly RunStatus[] = ["pending", "running", "parked", "paused", "completed", "failed", "cancelled"];

/** The options `list` takes. */
const LIST_OPTIONS = optionNames<ListRunsQuery>({
  status: true,
  workflow: true,
  limit: true,
  cursor: true,
  order: true,
  idPrefix: true,
  createdAfter: true,
  createdBefore: true,
  finishedAfter: true,
  finishedBefore: true,
});

/** Start runs, signal them, watch them and steer them. */
export class DurableClient {
  protected readonly store: Store;
  private readonly waker: Waker;
  private readonly clock: Clock;
  private readonly maxPayloadBytes: number;
  private readonly logger: Logger;
  private readonly waiters = new Map<string, Set<() => void>>();
  private unsubscribe: Promise<() => Promise<void>> | null = null;
  private closed = false;

  /** Cron schedules that start runs of this client's store. */
  readonly schedules: Schedules;

  constructor(private readonly options: ClientOptions) {
    this.store = options.store;
    this.waker = options.waker;
    this.clock = options.clock ?? realClock;
    this.maxPayloadBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
    this.logger = resolveLogger(options.logger, "client");
    const workflows = options.workflows;
    this.schedules = new Schedules({
      store: this.store,
      clock: this.clock,
      maxPayloadBytes: this.maxPayloadBytes,
      workflows,
      tick: { store: this.store, ...(workflows ? { workflows } : {}), wake: (id, wake) => this.hint(id, wake) },
      changed: () => this.waker.schedulesChanged?.(),
    });
  }

  /**
   * Starts a run of `workflow` (a built workflow, or a registered name) on `input`.
   *
   * Failure semantics: idempotent on `options.id`: starting an id that exists
   * returns the existing run and starts nothing. The input is checked by the
   * workflow's input schema, if any (`ValidationError` listing the issues), then
   * encoded, before anything is stored (`CodecError`, `PayloadTooLargeError`).
   * If the process dies after the run is stored but before a worker was told,
   * the run is still due and any worker's sweep picks it up.
   *
   * Returns a handle typed by the workflow's output. An id that exists as a run
   * of another workflow is refused (`ValidationError`): the handle would lie.
   */
  async start<In, Out>(workflow: Workflow<In, Out>, input: NoInfer<In>, options?: StartOptions): Promise<RunHandle<Out>>;
  /** Starts a run of the workflow registered as `workflow` (the client's `workflows`). */
  async start(workflow: string, input: unknown, options?: StartOptions): Promise<RunHandle<unknown>>;
  async start(workflow: Workflow | string, input: unknown, options: StartOptions = {}): Promise<RunHandle<unknown>> {
    this.assertOpen();
    checkOptions("start", options, START_OPTIONS);
    const notBefore = notBeforeOf("start", options);
    const definition = typeof workflow === "string" ? this.registry().latest(workflow) : workflow;
    if (!isBuiltWorkflow(definition)) {
      throw new ValidationError("start() takes a workflow built by flow(...).build() or a registered workflow name");
    }
    // Only an absent id is generated: a null or other non-string id is a caller's bug, not a request for a new run.
    const id = options.id === undefined ? newId() : options.id;
    assertId(id, "instance id");
    const onConflict = options.onConflict ?? "useExisting";
    if (!ON_CONFLICT.includes(onConflict)) {
      throw new ValidationError(`start: onConflict must be one of ${ON_CONFLICT.join(", ")}, got ${describe(onConflict)}`, {
        option: "onConflict",
      });
    }
    const attributes = { [SpanAttributes.workflow]: definition.name, [SpanAttributes.instanceId]: id };
    return inSpan(
      `parkway.start ${definition.name}`,
      SpanKind.PRODUCER,
      attributes,
      otelContext.active(),
      async (_span, trace) => {
        // The schema runs before anything is stored, and what is stored is its output.
        const checked = await checkWorkflowInput(definition, input, id);
        const bytes = encode(checked, {
          what: `input of run "${id}"`,
          maxBytes: this.maxPayloadBytes,
          context: { instanceId: id, workflow: definition.name },
        });
        const signals = signalNamesOf(definition.root);
        const run = { id, workflow: definition.name, hash: definition.hash, input: bytes, signals, ...(notBefore ? { notBefore } : {}) };
        const { created, header } =
          onConflict === "terminateExisting"
            ? { created: true, header: (await this.store.restart(run)).header }
            : await this.store.start(run);
        if (!created) this.checkExisting(header, definition.name, onConflict);
        // The replaced run's pending wake-ups are its own helper keys: they go with it.
        if (onConflict === "terminateExisting") await this.waker.forget?.(id);
        if (created) {
          parkwayMetrics().runsStarted.add(1, { [SpanAttributes.workflow]: definition.name });
          await this.hint(id, { reason: "start", version: header.version, dueAt: header.dueAt, now: header.createdAt, trace });
        }
        return new RunHandle<unknown>(this, definition, id, { created, verified: true });
      },
      (handle) => (handle.created ? "created" : "existing"),
    );
  }

  /**
   * A handle on run `id` of `workflow`, typed by its output. Reads nothing: the
   * first call made through the handle checks that the run belongs to
   * `workflow` (a `ValidationError` when not), so a handle can be made before
   * the run is started elsewhere.
   * @throws ValidationError for a workflow not built by `flow(...).build()` or a malformed id
   */
  handle<Out>(workflow: Workflow<never, Out>, id: string): RunHandle<Out> {
    this.assertOpen();
    if (!isBuiltWorkflow(workflow)) throw new ValidationError("handle() takes a workflow built by flow(...).build()");
    assertId(id, "instance id");
    return new RunHandle<Out>(this, workflow, id, { created: false, verified: false });
  }

  /**
   * Sends a signal to run `id`; it is buffered until a step waiting for its
   * name consumes it (first in, first out). `signal` is a definition made by
   * `defineSignal` (the payload is type-checked against it) or a plain name.
   *
   * Before anything is stored, the payload is validated by the signal's schema
   * (the definition's, else the one the run's workflow declares for that name;
   * `ValidationError`, nothing buffered), and the name is checked: with the
   * run's definition at hand (the client's `workflows`, or a handle's
   * workflow), a name the run can no longer wait for from where it stands
   * (misspelled, never waited for, or every wait for it passed) throws
   * `UnexpectedSignalError`; without it, the names recorded with the run at
   * start are the check. A run started without recorded names is not checked.
   *
   * Failure semantics: each call carries a delivery id (`options.deliveryId`,
   * else a fresh one) and the store buffers a delivery id once per run, so a
   * call whose command the connection resent after losing its reply delivers
   * once. A call that throws for a reason outside Parkway (a lost connection)
   * may or may not have buffered its signal: call again with the same
   * `deliveryId` to deliver it exactly once. A signal is consumed by exactly
   * one step, atomically with that step's commit. A call resent with a
   * delivery id the run has seen is answered as the first one was, without
   * the name check (the run may have taken that signal and moved on).
   * @throws UnexpectedSignalError, UnknownInstanceError, RunFinishedError, CodecError, PayloadTooLargeError, ValidationError
   */
  async signal<P>(id: string, signal: SignalDefinition<P, unknown>, payload: P, options?: SendSignalOptions): Promise<void>;
  async signal(id: string, name: string, payload?: unknown, options?: SendSignalOptions): Promise<void>;
  async signal(id: string, signal: SignalDefinition | string, payload?: unknown, options: SendSignalOptions = {}): Promise<void> {
    return this.sendSignal(id, signal, payload, options, null);
  }

  /**
   * `signal`, with the definition a handle knows of its run (used when the
   * client's own `workflows` lack it).
   * @internal
   */
  async sendSignal(
    id: string,
    signal: SignalDefinition | string,
    payload: unknown,
    options: SendSignalOptions,
    known: Workflow | null,
  ): Promise<void> {
    this.assertOpen();
    assertId(id, "instance id");
    if (!isSignalDefinition(signal) && typeof signal !== "string") {
      throw new ValidationError("signal() takes a signal made by defineSignal(...) or a signal name");
    }
    const name = isSignalDefinition(signal) ? signal.name : signal;
    assertId(name, "signal name");
    checkOptions("signal", options, SIGNAL_OPTIONS);
    const deliveryId = options.deliveryId === undefined ? newId() : options.deliveryId;
    assertId(deliveryId, "signal delivery id");
    // Names and delivery ids starting with `#` are Parkway's own (a child run's finish notice).
    if (name.startsWith(INTERNAL_SIGNAL_PREFIX)) {
      throw new ValidationError(`signal name "${name}" starts with "#", which is reserved for Parkway's own signals`, { signal: name });
    }
    if (deliveryId.startsWith(INTERNAL_SIGNAL_PREFIX)) {
      throw new ValidationError(`signal delivery id "${deliveryId}" starts with "#", which is reserved for Parkway's own signals`, {
        deliveryId,
      });
    }
    const what = `payload of signal "${name}"`;
    const ownSchema = isSignalDefinition(signal) ? signal.schema : undefined;
    // The sender's own schema needs no store read: a payload it refuses never reaches the store.
    if (ownSchema) payload = await validateWith(ownSchema, payload, { what, context: { instanceId: id, signal: name } });
    const target = await this.store.signalTarget(id, options.deliveryId);
    if (!target) throw new UnknownInstanceError(`no run with id "${id}"`, { instanceId: id });
    const bytes = await this.checkSignal(id, name, ownSchema, payload, target, known);
    const attributes = { [SpanAttributes.instanceId]: id, [SpanAttributes.signal]: name };
    await inSpan(
      `parkway.signal ${name}`,
      SpanKind.PRODUCER,
      attributes,
      otelContext.active(),
      async (_span, trace) => {
        const delivered = await this.store.signal(id, name, bytes, deliveryId);
        if (delivered.delivered === "woke") await this.hint(id, { reason: "signal", version: delivered.version, dueAt: null, trace });
        return delivered.delivered;
      },
      (delivered) => delivered,
    );
  }

  /**
   * The payload of signal `name` to run `id`, checked and encoded: by the run's workflow schema for
   * that name (unless the sender's own definition had one, `ownSchema`, already applied) and
   * refused when the run can no longer wait for `name`. A finished run or a delivery seen before
   * is the store's to answer (RunFinishedError, or the first answer), so neither is checked.
   * `absent`: the run does not exist yet (signalWithStart), so it is checked from its first step.
   */
  private async checkSignal(
    id: string,
    name: string,
    ownSchema: unknown,
    payload: unknown,
    target: SignalTarget,
    known: Workflow | null,
    absent = false,
  ): Promise<Uint8Array> {
    const what = `payload of signal "${name}"`;
    if (target.delivered === null && !FINISHED_STATUSES.includes(target.status)) {
      const definition = this.definitionFor(target, known);
      await this.expectSignal(id, name, target, definition, absent);
      const schema = ownSchema ? undefined : definition?.signalSchemas?.get(name);
      if (schema) payload = await validateWith(schema, payload, { what, context: { instanceId: id, signal: name } });
    }
    return encode(payload, { what, maxBytes: this.maxPayloadBytes, context: { instanceId: id } });
  }

  /**
   * Sends signal `signal` to run `options.id`, starting that run of `workflow` on `input` first
   * when it does not exist: one atomic step in the store, so callers racing on one id make one
   * run, and each call's signal is buffered once (its delivery id, as in `signal`). The signal
   * passes the checks of `signal` (the payload's schema, a name the run can wait for: for a new
   * run, from its first step); the input those of `start` (`startAt` and `delay` delay a new
   * run, and are ignored for one that exists). Returns the run's handle (`created` says which).
   *
   * Failure semantics: as `start` and `signal`. A call that throws for a reason outside Parkway
   * (a lost connection) may or may not have started the run and buffered the signal: call again
   * with the same `deliveryId`, and the run is started at most once and the signal buffered once.
   * @throws ValidationError (a bad option, input or payload), UnexpectedSignalError, RunFinishedError
   * (the run exists and is finished: nothing buffered), CodecError, PayloadTooLargeError
   */
  async signalWithStart<In, Out, P>(
    workflow: Workflow<In, Out>,
    input: NoInfer<In>,
    options: SignalWithStartOptions,
    signal: SignalDefinition<P, unknown>,
    payload: P,
  ): Promise<RunHandle<Out>>;
  async signalWithStart<In, Out>(
    workflow: Workflow<In, Out>,
    input: NoInfer<In>,
    options: SignalWithStartOptions,
    signal: string,
    payload?: unknown,
  ): Promise<RunHandle<Out>>;
  async signalWithStart(
    workflow: Workflow,
    input: unknown,
    options: SignalWithStartOptions,
    signal: SignalDefinition | string,
    payload?: unknown,
  ): Promise<RunHandle<unknown>> {
    this.assertOpen();
    checkOptions("signalWithStart", options, SIGNAL_WITH_START_OPTIONS);
    if (!isBuiltWorkflow(workflow)) throw new ValidationError("signalWithStart() takes a workflow built by flow(...).build()");
    const id = options.id;
    assertId(id, "signalWithStart: id");
    const notBefore = notBeforeOf("signalWithStart", options);
    if (!isSignalDefinition(signal) && typeof signal !== "string") {
      throw new ValidationError("signalWithStart() takes a signal made by defineSignal(...) or a signal name");
    }
    const name = isSignalDefinition(signal) ? signal.name : signal;
    assertId(name, "signal name");
    const deliveryId = options.deliveryId === undefined ? newId() : options.deliveryId;
    assertId(deliveryId, "signal delivery id");
    const ownSchema = isSignalDefinition(signal) ? signal.schema : undefined;
    if (ownSchema)
      payload = await validateWith(ownSchema, payload, { what: `payload of signal "${name}"`, context: { instanceId: id, signal: name } });
    const existing = await this.store.signalTarget(id, options.deliveryId);
    if (existing !== null && existing.workflow !== workflow.name) {
      throw new ValidationError(`run "${id}" exists as a run of workflow "${existing.workflow}", not of "${workflow.name}"`, {
        instanceId: id,
        workflow: workflow.name,
        actual: existing.workflow,
      });
    }
    // A run not started yet is checked as it will be: from its first step, with no signal delivered.
    const target: SignalTarget = existing ?? {
      workflow: workflow.name,
      hash: workflow.hash,
      status: "pending",
      names: null,
      delivered: null,
    };
    const bytes = await this.checkSignal(id, name, ownSchema, payload, target, workflow, existing === null);
    const checked = await checkWorkflowInput(workflow, input, id);
    const inputBytes = encode(checked, {
      what: `input of run "${id}"`,
      maxBytes: this.maxPayloadBytes,
      context: { instanceId: id, workflow: workflow.name },
    });
    const run = { id, workflow: workflow.name, hash: workflow.hash, input: inputBytes, signals: signalNamesOf(workflow.root) };
    const attributes = { [SpanAttributes.workflow]: workflow.name, [SpanAttributes.instanceId]: id, [SpanAttributes.signal]: name };
    return inSpan(
      `parkway.signalWithStart ${workflow.name}`,
      SpanKind.PRODUCER,
      attributes,
      otelContext.active(),
      async (_span, trace) => {
        const {
          created,
          header,
          signal: delivered,
        } = await this.store.signalWithStart({ ...run, ...(notBefore ? { notBefore } : {}) }, name, bytes, deliveryId);
        if (created) {
          parkwayMetrics().runsStarted.add(1, { [SpanAttributes.workflow]: workflow.name });
          await this.hint(id, { reason: "start", version: header.version, dueAt: header.dueAt, now: header.createdAt, trace });
        }
        if (delivered === null) {
          // Started as a run of another workflow between the check and the write: nothing was buffered.
          throw new ValidationError(`run "${id}" exists as a run of workflow "${header.workflow}", not of "${workflow.name}"`, {
            instanceId: id,
            workflow: workflow.name,
            actual: header.workflow,
          });
        }
        if (delivered.delivered === "woke") await this.hint(id, { reason: "signal", version: delivered.version, dueAt: null, trace });
        return new RunHandle<unknown>(this, workflow, id, { created, verified: true });
      },
      (handle) => (handle.created ? "created" : "existing"),
    );
  }

  /** The workflow name of run `id`, read cheaply (for a handle's check). @internal @throws UnknownInstanceError */
  async workflowOf(id: string): Promise<string> {
    const target = await this.store.signalTarget(id);
    if (!target) throw new UnknownInstanceError(`no run with id "${id}"`, { instanceId: id });
    return target.workflow;
  }

  /**
   * The run with its committed steps, and warnings about it (`warnings`): an unfinished run
   * whose workflow no live worker registers says so. A finished run costs no read of the workers.
   * @throws UnknownInstanceError
   */
  async status(id: string): Promise<RunView> {
    assertId(id, "instance id");
    const [run, stored, records, buffers] = await Promise.all([
      this.load(id, true),
      this.store.progress(id),
      this.store.attemptRecords(id),
      this.store.signalBuffers(id, BUFFERED_SIGNALS_SHOWN, SIGNAL_PREVIEW_BYTES),
    ]);
    const { header } = run;
    // When each buffered signal was sent is in the history: read only when there is one.
    const buffered = buffers.length === 0 ? NO_BUFFERED_SIGNALS : viewBufferedSignals(id, buffers, (await this.store.history(id)) ?? []);
    const directory = this.options.workers;
    const warnings = directory && !FINISHED_STATUSES.includes(header.status) ? runWarnings(header, await directory.list()) : [];
    const what = (key: string) => `output of step "${key}" of run "${id}"`;
    const progress: Record<string, ProgressView> = {};
    for (const [key, p] of stored) {
      progress[key] = { details: decode(p.details, `heartbeat details of step "${key}" of run "${id}"`, { instanceId: id }), at: p.at };
    }
    const timings: Record<string, StepTiming> = {};
    for (const [key, attempts] of records) timings[key] = stepTiming(attempts);
    return {
      id: header.id,
      workflow: header.workflow,
      hash: header.hash,
      status: header.status,
      version: header.version,
      waitingFor: header.status === "parked" || header.status === "paused" ? viewWaits(header.waits, header.children) : [],
      error: header.error,
      requested: header.requested,
      steps: [...run.outputs].map(([key, bytes]) => ({
        key,
        attempts: header.attempts[key] ?? 1,
        output: decode(bytes, what(key), { instanceId: id }),
        ...(timings[key] ?? NO_TIMING),
        ...(progress[key] === undefined ? {} : { progress: progress[key] }),
      })),
      timings,
      progress,
      input: decode(run.input, `input of run "${id}"`, { instanceId: id }),
      output: run.result === null ? undefined : decode(run.result, `output of run "${id}"`, { instanceId: id }),
      dueAt: header.dueAt,
      createdAt: header.createdAt,
      updatedAt: header.updatedAt,
      finishedAt: header.finishedAt ?? null,
      buffered,
      warnings,
      parent: header.parent ?? null,
      children: Object.entries(header.children ?? {}).map(([key, childId]) => ({ key, id: childId })),
    };
  }

  /**
   * What happened to run `id`, oldest first: its last events (at most `HISTORY_LIMIT`, 100; the
   * oldest go first), each with its store time. The kinds of event are `RUN_EVENT_TYPES`.
   * @throws ValidationError for a malformed id, UnknownInstanceError
   */
  async history(id: string): Promise<readonly RunEvent[]> {
    assertId(id, "instance id");
    const events = await this.store.history(id);
    if (events === null) throw new UnknownInstanceError(`no run with id "${id}"`, { instanceId: id });
    return viewHistory(events);
  }

  /**
   * The live workers: every `WorkflowWorker` of the namespace whose registration has not lapsed
   * (each renews it about every second and drops it on `close()`; a killed one lapses within a few
   * heartbeats), oldest first. An embedded engine lists itself, its one in-process worker.
   * @throws ValidationError for a client built without a view of workers
   */
  async workers(): Promise<WorkerInfo[]> {
    const directory = this.options.workers;
    if (!directory) throw new ValidationError("workers: this client has no view of workers (give it a `workers` directory)");
    const workers = await directory.list();
    return [...workers].sort((a, b) => a.startedAt - b.startedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /**
   * Waits for the run to finish and returns its output.
   * @throws RunFailedError (cause: the task's error), CancelledError, ResultTimeoutError, UnknownInstanceError
   */
  async result<Out = unknown>(id: string, options: { readonly timeout?: Duration } = {}): Promise<Out> {
    this.assertOpen();
    assertId(id, "instance id");
    const timeoutMs = options.timeout === undefined ? null : toMs(options.timeout, "result timeout");
    await this.subscribe();
    const deadline = timeoutMs === null ? null : this.clock.now() + timeoutMs;
    for (;;) {
      const finished = this.waitForFinish(id);
      const run = await this.load(id, false);
      if (FINISHED_STATUSES.includes(run.header.status)) {
        finished.cancel();
        return this.outcome<Out>(run);
      }
      const remaining = deadline === null ? null : deadline - this.clock.now();
      if (remaining !== null && remaining <= 0) {
        finished.cancel();
        throw new ResultTimeoutError(`run "${id}" did not finish within ${timeoutMs}ms (it is ${run.header.status})`, { instanceId: id });
      }
      // Finish notifications can be missed (a subscriber reconnecting), so look again now and then.
      await finished.until(Math.min(remaining ?? RESULT_RECHECK_MS, RESULT_RECHECK_MS));
    }
  }

  /**
   * Cancels the run: at once when it is not running. A running run's tasks in
   * flight are aborted through `ctx.signal`, on whichever worker runs them,
   * within a second; the run ends `cancelled` once they return (a task that
   * ignores its signal is not waited for) and nothing they return is committed.
   * Its child runs are cancelled too, and a child's parent fails its child step with
   * `ChildRunFailedError`: at once for a run not running, else at its next step boundary, or,
   * when the worker running it died, when the next worker acquires it.
   * @throws RunFinishedError
   */
  async cancel(id: string): Promise<ControlResult> {
    assertId(id, "instance id");
    const result = await cancelRun(this.store, id, (run, version) => void this.hint(run, { reason: "child", version, dueAt: null }));
    if (result.immediate) {
      // A run cancelled at a step boundary is counted by the worker that stops it.
      parkwayMetrics().runsFinished.add(1, { [SpanAttributes.outcome]: "cancelled" });
      await this.waker.forget?.(id);
    }
    return result;
  }

  /**
   * Sends a failed or cancelled run back to work, from the step that failed (or
   * was interrupted), with that step's attempts reset. Committed steps keep their
   * outputs and are not run again; a finished run's retention no longer applies.
   * Fix the failing code first: the run resumes on the definition it was started with.
   * @throws RunStateError for a run that is not failed or cancelled (nothing changes), UnknownInstanceError
   */
  async retry(id: string): Promise<ControlResult> {
    assertId(id, "instance id");
    const result = await this.store.retry(id);
    await this.hint(id, { reason: "resume", version: result.version, dueAt: null });
    return result;
  }

  /**
   * Drops the output of step `to` and of every step that depends on it (the
   * rest of its branch, the join, everything after the fork), and runs the run
   * again from there, whatever its status (a paused run stays paused). The new
   * version fences a worker still holding the run: its next write is refused.
   * Needs the run's definition in the client's `workflows`. Rewinding to a step
   * of a map element re-runs that element from the step (the other elements keep
   * their outputs) and what follows the map; rewinding to a step of a loop restarts
   * the loop (only its last iterations are kept).
   * @throws UnknownStepError when the run has no committed step `to` (nothing changes), ValidationError
   */
  async rewind(id: string, options: RewindOptions): Promise<ControlResult> {
    assertId(id, "instance id");
    checkOptions("rewind", options, ["to"]);
    assertId(options.to, "rewind: to");
    const { header } = await this.load(id, false);
    const definition = this.options.workflows?.find(header.workflow, header.hash);
    if (!definition) {
      throw new ValidationError(
        `rewind of run "${id}" needs its definition (workflow "${header.workflow}", hash ${header.hash}): give the client \`workflows\` holding it`,
        { instanceId: id, workflow: header.workflow },
      );
    }
    const drop = rewindKeys(definition, options.to);
    if (!drop) {
      throw new UnknownStepError(`run "${id}" has no step "${options.to}": workflow "${header.workflow}" has no such step`, {
        instanceId: id,
        step: options.to,
      });
    }
    const result = await this.store.rewind(id, options.to, drop);
    if (result.status !== "paused") await this.hint(id, { reason: "resume", version: result.version, dueAt: null });
    return result;
  }

  /**
   * Moves the run to another definition of its workflow (`to`), so a run parked
   * or blocked on code no worker runs any more can go on. Checked and atomic:
   * every committed key must be a step of `to` (or be renamed by `keys`), else
   * `IncompatibleDefinitionError` and nothing changes. A live run goes on at
   * once (a paused one stays paused); a finished run stays finished (then `retry`).
   * @throws ValidationError (`to` is not a build of the run's workflow), IncompatibleDefinitionError, UnknownStepError
   */
  async migrate(id: string, options: MigrateOptions): Promise<ControlResult> {
    assertId(id, "instance id");
    const { to, keys } = checkMigrateOptions(options);
    const { header } = await this.load(id, false);
    if (to.name !== header.workflow) {
      throw new ValidationError(
        `cannot migrate run "${id}" of workflow "${header.workflow}" to a definition of workflow "${to.name}": a run stays in its workflow`,
        { instanceId: id, workflow: header.workflow, option: "to" },
      );
    }
    const result = await this.store.migrate(id, to.hash, definitionKeys(to), keys, signalNamesOf(to.root));
    if (!FINISHED_STATUSES.includes(result.status) && result.status !== "paused") {
      await this.hint(id, { reason: "resume", version: result.version, dueAt: null });
    }
    return result;
  }

  /**
   * Deletes a finished run now: its steps, input, result, signals and index entries.
   * @throws RunStateError for a live run (cancel it first), UnknownInstanceError
   */
  async delete(id: string): Promise<void> {
    assertId(id, "instance id");
    await this.store.delete(id);
    await this.waker.forget?.(id);
  }

  /**
   * Deletes every finished run matching the query, in bounded batches (each one
   * short atomic step on Redis), and returns how many went. Runs that finish
   * while it goes may be missed; live runs are never touched.
   * @throws ValidationError for an unknown option, a live status, or no filter at all
   */
  async purge(query: PurgeQuery): Promise<number> {
    return purgeRuns(this.store, query);
  }

  /** Pauses the run: at once when it is not running, else at its next step boundary. @throws RunFinishedError */
  async pause(id: string): Promise<ControlResult> {
    assertId(id, "instance id");
    return this.store.pause(id);
  }

  /** Lets a paused run go on. @throws RunFinishedError */
  async resume(id: string): Promise<ControlResult> {
    assertId(id, "instance id");
    const result = await this.store.resume(id);
    if (result.status !== "running") await this.hint(id, { reason: "resume", version: result.version, dueAt: null });
    return result;
  }

  /**
   * Runs by status and/or workflow, id prefix, creation and finish time, newest first
   * unless `order: "oldest"`; pass `cursor` back (with the same query) for the next page.
   * With a finished bound (`finishedAfter`, `finishedBefore`), runs are listed by when they
   * finished (newest: the latest finished first), and live runs never match.
   * With `idPrefix` (or a creation range together with a finished bound), a page may hold fewer
   * runs than `limit`, even none, and still have a cursor: the store looks at a bounded number of runs per page.
   * @throws ValidationError naming the option: an unknown option, an unknown status or order, a bad
   * workflow name or id prefix, a `limit` that is not an integer from 1 to 10000, a creation or finish
   * bound that is not a time, `createdAfter` later than `createdBefore` (or `finishedAfter` later than
   * `finishedBefore`), a `cursor` no previous page returned.
   */
  async list(query: ListRunsQuery = {}): Promise<{ runs: readonly RunSummary[]; cursor: string | null }> {
    if (query === null || typeof query !== "object" || Array.isArray(query)) {
      throw new ValidationError(`list: the query must be an object, got ${describe(query)}`);
    }
    checkOptions("list", query, LIST_OPTIONS);
    if (query.status !== undefined && !STATUSES.includes(query.status)) {
      throw new ValidationError(`list: unknown status ${JSON.stringify(query.status)} (use one of ${STATUSES.join(", ")})`, {
        option: "status",
      });
    }
    if (query.workflow !== undefined) assertId(query.workflow, "workflow name");
    const limit = query.limit ?? 100;
    if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 1 || limit > 10_000) {
      throw new ValidationError(`list: limit must be an integer from 1 to 10000, got ${describe(limit)}`, { option: "limit" });
    }
    if (query.cursor !== undefined) decodeListCursor(query.cursor);
    if (query.order !== undefined && !LIST_ORDERS.includes(query.order)) {
      throw new ValidationError(`list: order must be "newest" or "oldest", got ${describe(query.order)}`, { option: "order" });
    }
    if (query.idPrefix !== undefined) assertId(query.idPrefix, "list: idPrefix");
    const { createdAfter: _ca, createdBefore: _cb, finishedAfter: _fa, finishedBefore: _fb, ...filters } = query;
    const page = await this.store.list({
      ...filters,
      limit,
      ...timeRange(query, "createdAfter", "createdBefore"),
      ...timeRange(query, "finishedAfter", "finishedBefore"),
    });
    return {
      runs: page.runs.map((h) => ({
        id: h.id,
        workflow: h.workflow,
        status: h.status,
        createdAt: h.createdAt,
        updatedAt: h.updatedAt,
        finishedAt: h.finishedAt ?? null,
        dueAt: h.dueAt,
        error: h.error,
      })),
      cursor: page.cursor,
    };
  }

  /**
   * How many runs have each status, of one workflow when `query.workflow` is
   * given. Read from the store's status indexes (on Redis, one `ZCARD` per
   * status), so it stays cheap with millions of runs, unlike counting `list` pages.
   */
  async counts(query: CountQuery = {}): Promise<Record<RunStatus, number>> {
    if (typeof query !== "object" || query === null) throw new ValidationError("counts: the query must be an object");
    const unknown = Object.keys(query).find((k) => k !== "workflow");
    if (unknown !== undefined) throw new ValidationError(`counts: unknown option ${JSON.stringify(unknown)}`);
    if (query.workflow !== undefined) assertId(query.workflow, "workflow name");
    return this.store.counts(query);
  }

  /** Stops listening for finished runs; waiting `result` calls reject with `ClosedError`. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const set of this.waiters.values()) for (const wake of set) wake();
    this.waiters.clear();
    if (this.unsubscribe) await (await this.unsubscribe)();
    await this.waker.close?.();
  }

  /**
   * Tells a worker the run is due. The store already marked it due, so a
   * failed hint only delays the run until a sweep; it must not fail the call
   * (a caller retrying `signal` would buffer the signal twice).
   */
  private async hint(id: string, wake: Wake): Promise<void> {
    try {
      await this.waker.wake(id, wake);
    } catch (error) {
      this.logger.warn({ err: error, instanceId: id }, `could not wake run "${id}" (a sweep will)`);
    }
  }

  /** `start` found a run with its id: `useExisting` returns it, unless it belongs to another workflow. */
  private checkExisting(header: RunHeader, workflow: string, onConflict: string): void {
    if (onConflict === "fail") {
      throw new RunExistsError(`a run with id "${header.id}" already exists (${header.status})`, {
        instanceId: header.id,
        workflow: header.workflow,
        status: header.status,
      });
    }
    if (header.workflow !== workflow) {
      throw new ValidationError(
        `start: id "${header.id}" is taken by a run of workflow "${header.workflow}", not "${workflow}" (use another id, or onConflict "terminateExisting")`,
        { instanceId: header.id, workflow: header.workflow },
      );
    }
  }

  /** The definition the run was started with: the client's, else the handle's when its hash is the run's. */
  private definitionFor(target: SignalTarget, known: Workflow | null): Workflow | null {
    const registered = this.options.workflows?.find(target.workflow, target.hash);
    if (registered) return registered;
    return known !== null && known.name === target.workflow && known.hash === target.hash ? known : null;
  }

  /**
   * @throws UnexpectedSignalError when the run can no longer wait for `name`: from its definition
   * and committed steps when the definition is at hand, else from the names recorded at start.
   */
  private async expectSignal(id: string, name: string, target: SignalTarget, definition: Workflow | null, absent: boolean): Promise<void> {
    const context = { instanceId: id, workflow: target.workflow, signal: name };
    if (definition === null) {
      if (target.names === null || target.names.includes(name)) return;
      throw new UnexpectedSignalError(
        `workflow "${target.workflow}" never waits for signal "${name}"${waitsFor(target.names)}; nothing was sent`,
        { ...context, expected: target.names },
      );
    }
    // A run not started yet (signalWithStart) has committed nothing: it can wait for what its first steps wait for.
    const outputs = absent ? new Map<string, Uint8Array>() : (await this.load(id, true)).outputs;
    const reachable = reachableSignals(definition.root, {
      has: (key) => outputs.has(key),
      output: (key) => decode(outputs.get(key)!, `output of step "${key}" of run "${id}"`, { instanceId: id }),
    });
    if (reachable.has(name)) return;
    const expected = [...reachable];
    const why = signalNamesOf(definition.root).includes(name)
      ? `run "${id}" is past every step of workflow "${target.workflow}" that waits for signal "${name}"`
      : `workflow "${target.workflow}" never waits for signal "${name}"`;
    throw new UnexpectedSignalError(`${why}${waitsFor(expected, "it can still wait for")}; nothing was sent`, { ...context, expected });
  }

  private registry(): WorkflowRegistry {
    if (!this.options.workflows) throw new ValidationError("start by name needs the client to be given `workflows`");
    return this.options.workflows;
  }

  private async load(id: string, outputs: boolean): Promise<StoredRun> {
    const run = await this.store.get(id, { outputs });
    if (!run) throw new UnknownInstanceError(`no run with id "${id}"`, { instanceId: id });
    return run;
  }

  private outcome<Out>(run: StoredRun): Out {
    const { header } = run;
    if (header.status === "completed") return decode(run.result!, `output of run "${header.id}"`, { instanceId: header.id }) as Out;
    if (header.status === "cancelled") throw new CancelledError(`run "${header.id}" was cancelled`, { instanceId: header.id });
    const cause = header.error ? deserializeError(header.error) : undefined;
    throw new RunFailedError(
      `run "${header.id}" failed: ${cause?.message ?? "unknown error"}`,
      { instanceId: header.id, workflow: header.workflow },
      { cause },
    );
  }

  /** One store subscription per client, shared by every `result` call. */
  private subscribe(): Promise<() => Promise<void>> {
    this.unsubscribe ??= this.store
      .onFinish((id) => {
        for (const wake of this.waiters.get(id) ?? []) wake();
      })
      .catch((error: unknown) => {
        this.unsubscribe = null;
        throw error;
      });
    return this.unsubscribe;
  }

  private waitForFinish(id: string): { until(ms: number | null): Promise<void>; cancel(): void } {
    let wake!: () => void;
    const finished = new Promise<void>((resolve) => (wake = resolve));
    const set = this.waiters.get(id) ?? new Set();
    set.add(wake);
    this.waiters.set(id, set);
    const cancel = () => {
      set.delete(wake);
      if (set.size === 0) this.waiters.delete(id);
    };
    return {
      cancel,
      until: async (ms) => {
        let stopTimer = () => {};
        const timedOut =
          ms === null ? new Promise<void>(() => {}) : new Promise<void>((resolve) => (stopTimer = this.clock.setTimer(ms, resolve)));
        try {
          await Promise.race([finished, timedOut]);
        } finally {
          stopTimer();
          cancel();
        }
        if (this.closed) throw new ClosedError("the client was closed while waiting for a result", { instanceId: id });
      },
    };
  }

  private assertOpen(): void {
    if (this.closed) throw new ClosedError("this client is closed");
  }
}

/** @throws ValidationError unless `value` is a non-empty, well-formed string of at most 512 characters. */
export function assertId(value: unknown, what: string): asserts value is string {
  if (typeof value !== "string" || value.length === 0 || value.length > 512) {
    throw new ValidationError(`${what} must be a non-empty string of at most 512 characters, got ${describe(value)}`, {
      value: describe(value),
    });
  }
  assertWellFormed(value, what);
}

/** "(it waits for "a", "b")" for a message; "(it waits for no signal)" when there are none. */
function waitsFor(names: readonly string[], lead = "it waits for"): string {
  return names.length === 0 ? ` (${lead} no signal)` : ` (${lead} ${names.map((n) => JSON.stringify(n)).join(", ")})`;
}

/**
 * One time range of a `list` query (`after` at or after, `before` strictly before), as the store takes it.
 * @throws ValidationError naming the bound: not a `Date` or whole ms since the epoch, or `after` later than `before`
 */
function timeRange<A extends "createdAfter" | "finishedAfter", B extends "createdBefore" | "finishedBefore">(
  query: ListRunsQuery,
  after: A,
  before: B,
): { [K in A | B]?: number } {
  const low = timeBound(query[after], after);
  const high = timeBound(query[before], before);
  if (low !== undefined && high !== undefined && low > high) {
    throw new ValidationError(`list: ${after} (${low}) is later than ${before} (${high})`, { option: after });
  }
  return { ...(low === undefined ? {} : { [after]: low }), ...(high === undefined ? {} : { [before]: high }) } as { [K in A | B]?: number };
}

/** A bound of a time range as ms since the epoch. @throws ValidationError naming the option */
function timeBound(value: number | Date | undefined, option: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = value instanceof Date ? value.getTime() : value;
  if (typeof ms !== "number" || !Number.isSafeInteger(ms) || ms < 0) {
    throw new ValidationError(`list: ${option} must be a Date or a whole number of ms since the epoch, got ${describe(value)}`, {
      option,
    });
  }
  return ms;
}

function describe(value: unknown): string {
  if (typeof value === "string") return value.length > 40 ? `a string of ${value.length} characters` : JSON.stringify(value);
  if (typeof value === "number") return String(value);
  return value === null ? "null" : typeof value;
}
