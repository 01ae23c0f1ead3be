/**
 * The durable store: the one source of truth about runs.
 *
 * Every method is one atomic operation over one run's data (a Redis store
 * implements each as a single Lua script). Payloads (inputs, outputs, signal
 * payloads) cross this interface already encoded, so size limits and codec
 * errors are raised before a store is called and every store keeps the same
 * bytes. All times are the store's own clock (`TIME` on Redis), never a worker's.
 */
import type { SerializedError } from "../errors.js";
import type { FlowControl } from "../flow-control/types.js";
import type { AttemptRecord, FailedAttempt, RunEvent } from "./history.js";
import type { SchedulePage, ScheduleWrite, StoredSchedule } from "./schedule-types.js";

/** Where a run stands. */
export type RunStatus = "pending" | "running" | "parked" | "paused" | "completed" | "failed" | "cancelled";

/** Every status, in the order a run can first reach them. */
export const RUN_STATUSES: readonly RunStatus[] = ["pending", "running", "parked", "paused", "completed", "failed", "cancelled"];

/** Statuses a run never leaves (unless repaired: retry, rewind). */
export const FINISHED_STATUSES: readonly RunStatus[] = ["completed", "failed", "cancelled"];

/** A status a run ends in. */
export type FinishedStatus = "completed" | "failed" | "cancelled";

/**
 * How long finished runs are kept, in ms per finished status; `null` keeps them
 * for ever. A status left out falls to the next level (a workflow's to the
 * namespace's, the namespace's to {@link DEFAULT_RETENTION_MS}).
 */
export type RetentionMs = Partial<Record<FinishedStatus, number | null>>;

/** Retention when nothing else is set: completed and cancelled runs 7 days, failed runs 30 days. */
export const DEFAULT_RETENTION_MS: Readonly<Record<FinishedStatus, number>> = {
  completed: 7 * 86_400_000,
  cancelled: 7 * 86_400_000,
  failed: 30 * 86_400_000,
};

/**
 * The commit keys some steps of a definition own, as key templates (see `stepKeyMatcher`):
 * `refs` commit under the template (`lines[]/charge` is that step in any element of map
 * `lines`, `lines[3]/charge` in element 3 only), `loops` under `<template>#<n>`.
 */
export interface StepKeySet {
  readonly refs: readonly string[];
  readonly loops: readonly string[];
}

/** One bounded batch of a purge, over the runs of one finished status. */
export interface PurgeBatch {
  readonly status: FinishedStatus;
  readonly workflow?: string;
  /** Only runs that finished before this store time. */
  readonly finishedBefore?: number;
  /** Where the previous batch stopped, as the store answered it (0 for the first). */
  readonly offset: number;
  /** Most runs looked at in this batch. */
  readonly limit: number;
}

/**
 * Why a timer waits: a delay step, a retry's backoff, the run's own deadline
 * (`flow(name, { timeout })`, under the key `#timeout`), a delayed start
 * (`start(..., { startAt })`, under the key `#start`: the run is parked before its first step), a
 * slot of a concurrency or rate limit (`slot`: its key names the step and the limit, see
 * `flow-control/types.ts`; its deadline is when to look again unless a freed slot wakes the run first),
 * or a child run's re-check (`child`: the parent of a child step looks at its child when it fires, in
 * case the child's finish notice was lost; see `semantics/children.ts`).
 */
export type TimerReason = "delay" | "retry" | "timeout" | "start" | "slot" | "child";

/** The key of the wait of a run parked until its delayed start. Never a commit key: step ids cannot contain `#`. */
export const START_WAIT_KEY = "#start";

/** What a parked run waits for. Deadlines are absolute store times, fixed the first time the step parked. */
export type Wait =
  | {
      readonly kind: "timer";
      readonly key: string;
      readonly reason: TimerReason;
      readonly until: number;
      /**
       * On a `slot` wait as `status()` shows it: the limit key waited for (`flow:<workflow>[:<key>]`,
       * `task:<task id>[:<key>]`, and `flow-rate:`, `task-rate:` for rate limits); `key` is then the
       * step's commit key, or `#run` for the run's own limits.
       */
      readonly slot?: string;
    }
  | {
      readonly kind: "signal";
      readonly key: string;
      readonly signal: string;
      readonly timeoutAt: number | null;
      /**
       * On a child step's wait as `status()` shows it: the child run's instance id. The step waits on
       * the internal signal `#child:<key>` (and a `child` timer `status()` leaves out; see `semantics/children.ts`).
       */
      readonly child?: string;
    };

/** A wait as the executor asks for it: relative to the store's now, unless the key already has a deadline. */
export type WaitRequest =
  | { readonly kind: "timer"; readonly key: string; readonly reason: TimerReason; readonly delayMs: number }
  | { readonly kind: "signal"; readonly key: string; readonly signal: string; readonly timeoutMs: number | null };

/** The run's header: everything but the payloads. Small, and rewritten by every operation. */
export interface RunHeader {
  readonly id: string;
  readonly workflow: string;
  /** The hash of the workflow definition the run was started with. */
  readonly hash: string;
  readonly status: RunStatus;
  /**
   * Changed by every write that changes who may advance the run or how far it
   * got; writers must present the version they read (compare-and-set). Opaque:
   * it only goes up, by one a write, except at a handover (`acquire`), where it
   * jumps to at least the store's clock in microseconds, so no holder fenced by
   * a rollback (a failover to a replica that lagged) shares a version with the
   * run's next holder. `touch` and cancel/pause requests on a running run leave
   * it unchanged, so the worker holding the run reaches its boundary.
   */
  readonly version: number;
  /**
   * What the run waits for, with deadlines fixed when each wait first parked.
   * Meaningful while parked or paused; kept while running, so a re-park keeps its deadlines.
   */
  readonly waits: readonly Wait[];
  /** Attempts spent per commit key: for committed steps, and for a retry parked until later. */
  readonly attempts: Readonly<Record<string, number>>;
  /** Why the run failed, or why it is parked and cannot go on (a definition this worker lacks). */
  readonly error: SerializedError | null;
  /** A cancel or pause asked of a running run, applied at its next step boundary. */
  readonly requested: "cancel" | "pause" | null;
  /** When the run next needs a worker (a timer, a lease expiry, a delivered signal), or null. */
  readonly dueAt: number | null;
  readonly createdAt: number;
  readonly updatedAt: number;
  /**
   * When the run reached the finished status it has (store time); absent while it is live, and for
   * a run that finished before Parkway recorded it. A run sent on again (retry, rewind) loses it.
   */
  readonly finishedAt?: number;
  /**
   * When a run started with `startAt` or `delay` was due to begin (store time), even after it
   * began: its workflow's `timeout` counts from here. Absent for a run that started at once.
   */
  readonly startAt?: number;
  /** The run and step that started this run as a child (`.child(...)`); absent for a run started otherwise. */
  readonly parent?: RunLink;
  /** The child runs this run started, by the commit key of the step that started each; absent when none. */
  readonly children?: Readonly<Record<string, string>>;
}

/** Where a child run hangs in its parent: the parent's instance id and the commit key of the step that started it. */
export interface RunLink {
  readonly id: string;
  readonly key: string;
}

/** A run as loaded to be advanced or inspected. */
export interface StoredRun {
  readonly header: RunHeader;
  readonly input: Uint8Array;
  /** Committed output of every finished step, by commit key. */
  readonly outputs: ReadonlyMap<string, Uint8Array>;
  /** The workflow's output once completed. */
  readonly result: Uint8Array | null;
  /** The store's clock when it was read. */
  readonly now: number;
}

/** A new run. */
export interface NewRun {
  readonly id: string;
  readonly workflow: string;
  readonly hash: string;
  readonly input: Uint8Array;
  /**
   * Every signal name the definition waits for, recorded with the run so a sender without the
   * definition can still refuse a name the run never waits for (see {@link Store.signalTarget}).
   */
  readonly signals?: readonly string[];
  /**
   * A delayed start: the run is created parked on a `#start` timer until `at` (store time, ms
   * since the epoch) or until `delayMs` from the store's now. A time not in the future starts it at once.
   */
  readonly notBefore?: { readonly at: number } | { readonly delayMs: number };
  /**
   * A child run's parent, linked from its creation: a child never exists without the link, so a
   * parent's cancel can tell its own children from runs that merely share an id it recorded.
   */
  readonly parent?: RunLink;
}

/** What a sender checks a signal against before buffering it, read in one round trip. */
export interface SignalTarget {
  readonly workflow: string;
  readonly hash: string;
  readonly status: RunStatus;
  /** The signal names recorded at start; null for a run started without them. */
  readonly names: readonly string[] | null;
  /** How the delivery id asked about was delivered before, or null when it never was (or none was asked about). */
  readonly delivered: SignalResult["delivered"] | null;
}

/** Why `acquire` did not hand a run over. */
export type NotAcquired =
  | { readonly acquired: false; readonly reason: "finished" | "paused" }
  /**
   * A cancel asked of the run while its worker was away (it died, or let the run go) was applied
   * by this acquire: the run is `cancelled` now. `header` is as the cancel left it, so the caller
   * can tell what hangs on the run (its children, its parent) even once the run's retention ends.
   */
  | { readonly acquired: false; readonly reason: "cancelled"; readonly header: RunHeader }
  /**
   * `busy`: another worker holds an unexpired lease (until `dueAt`).
   * `not-due`: parked and nothing is due yet, the wake came early (due at `dueAt`, or when a signal comes).
   * `now` is the store's clock, so a caller can schedule the next look without trusting its own.
   */
  | { readonly acquired: false; readonly reason: "busy" | "not-due"; readonly dueAt: number | null; readonly now: number };

export type AcquireResult = { readonly acquired: true; readonly run: StoredRun } | NotAcquired;

/** How a write that must follow the caller's version ended. */
export type WriteResult =
  | { readonly ok: true; readonly version: number }
  /** The run was cancelled or paused at this boundary; the caller stops. */
  | { readonly ok: false; readonly stopped: "cancelled" | "paused"; readonly version: number };

export type CommitResult = WriteResult | { readonly ok: true; readonly alreadyCommitted: true; readonly version: number };

/**
 * What a commit goes on to in the same write, when the worker knows it before the commit is sent:
 * the first attempt of the next step starts (as `startAttempt` records it), or the run completes
 * with `result` (as `finish` ends it). Either costs the store no write of its own.
 */
export type CommitThen = { readonly startAttempt: { readonly key: string; readonly attempt: number } } | { readonly complete: Uint8Array };

export type TakeSignalResult =
  | { readonly outcome: "signal"; readonly payload: Uint8Array; readonly version: number }
  /** The timeout won; with a fallback it was committed as the step's output. */
  | { readonly outcome: "timeout"; readonly committed: boolean; readonly version: number }
  | { readonly outcome: "none" }
  | { readonly ok: false; readonly stopped: "cancelled" | "paused"; readonly version: number };

export type ParkResult =
  | { readonly outcome: "parked"; readonly version: number; readonly dueAt: number | null }
  /** A signal the run waits for is already buffered: the run did not park and goes on. */
  | { readonly outcome: "signalled"; readonly version: number }
  | { readonly outcome: "stopped"; readonly stopped: "cancelled" | "paused"; readonly version: number };

export type SignalResult = { readonly delivered: "woke" | "buffered"; readonly dueAt: number | null; readonly version: number };

/** What a control operation (cancel, pause, resume) did. */
export interface ControlResult {
  readonly status: RunStatus;
  /** The run's version after the change. */
  readonly version: number;
  /** True when the change is already in force; false when it waits for the running run's next step boundary. */
  readonly immediate: boolean;
}

/** Which way `list` walks runs by creation: newest first (the default) or oldest first. */
export type ListOrder = "newest" | "oldest";

export interface ListQuery {
  readonly status?: RunStatus;
  readonly workflow?: string;
  readonly limit?: number;
  /** From a previous page's `cursor`. */
  readonly cursor?: string;
  /** Default `"newest"`. */
  readonly order?: ListOrder;
  /** Only runs whose id starts with this. */
  readonly idPrefix?: string;
  /** Only runs created at or after this store time (ms since the epoch). */
  readonly createdAfter?: number;
  /** Only runs created before this store time: with `createdAfter`, a half-open range, so adjacent windows never overlap. */
  readonly createdBefore?: number;
  /**
   * Only runs that finished at or after this store time. With either finished bound, runs are
   * listed by when they finished (`order` then says latest or earliest finished first), and a live
   * run, which has no finish time, never matches.
   */
  readonly finishedAfter?: number;
  /** Only runs that finished before this store time (half-open with `finishedAfter`). */
  readonly finishedBefore?: number;
}
export interface ListPage {
  /**
   * At most `limit` runs. With `idPrefix`, a page can hold fewer (even none) and still have a
   * cursor: a store may stop after looking at a bounded number of runs, and the next page goes on from there.
   */
  readonly runs: readonly RunHeader[];
  /** Pass back for the next page; null on the last page. */
  readonly cursor: string | null;
}

/** The signals buffered for a run under one name and not taken yet, as `signalBuffers` reads them. */
export interface SignalBuffer {
  readonly name: string;
  /** How many are buffered under the name. */
  readonly count: number;
  /**
   * The oldest of them (at most the `limit` asked for), oldest first: each one's encoded size, and its
   * bytes when they are no larger than the `previewBytes` asked for (else null).
   */
  readonly oldest: readonly { readonly bytes: number; readonly payload: Uint8Array | null }[];
}

/** What `counts` counts: every run, or the runs of one workflow. */
export interface CountQuery {
  readonly workflow?: string;
}

/** What `touch` found asked of the run. */
export interface TouchResult {
  readonly requested: "cancel" | "pause" | null;
}

/** The latest progress a running step reported with `ctx.heartbeat(details)`. */
export interface StepProgress {
  /** The encoded details (the codec's bytes), or an empty array for a heartbeat without details. */
  readonly details: Uint8Array;
  /** When it was recorded (store time). */
  readonly at: number;
}

/** Told when a cancel is asked of a running run (its tasks in flight should be aborted). */
export type CancelListener = (id: string) => void;

/** Told when a run reaches a finished status. */
export type FinishListener = (id: string, status: RunStatus) => void;

/**
 * The operations a durable store provides. Each is atomic. Operations that
 * take `version` reject a stale one with `StaleVersionError` and change nothing.
 * Operations on an id the store lacks throw `UnknownInstanceError`.
 */
export interface Store {
  /** Concurrency and rate limits kept with the store's runs, when the store keeps them (see `flow-control/types.ts`). */
  readonly flowControl?: FlowControl;

  /**
   * Creates the run (status `pending`, due now; or `parked` on its `#start` timer with
   * `notBefore`) unless the id exists. Never starts a second run.
   */
  start(run: NewRun): Promise<{ readonly created: boolean; readonly header: RunHeader }>;

  /**
   * Starts the run unless it exists, then buffers the signal for it, in one atomic step: two
   * callers racing on one id make one run, and each call buffers its signal once (a `deliveryId`
   * seen before buffers nothing, as in {@link signal}). A run that exists and is finished takes
   * no signal (`RunFinishedError`, nothing created or buffered). A run of another workflow under
   * that id takes none either: `signal` is null and nothing is buffered.
   */
  signalWithStart(
    run: NewRun,
    name: string,
    payload: Uint8Array,
    deliveryId?: string,
  ): Promise<{ readonly created: boolean; readonly header: RunHeader; readonly signal: SignalResult | null }>;

  /**
   * Hands a run to a worker: `pending`, `parked` with something due (a timer
   * passed, a signal arrived, a resume), or `running` with an expired lease
   * (its worker died) becomes `running` under a fresh lease of `leaseMs`, with
   * a new version that fences any previous holder, even one whose later writes
   * a rollback undid (see `RunHeader.version`). Returns the full run.
   * A cancel or pause asked of a run whose worker died is applied instead, at the
   * boundary it was waiting for (`reason` "cancelled" or "paused").
   */
  acquire(id: string, leaseMs: number): Promise<AcquireResult>;

  /**
   * Extends a running run's lease (a long task is still going), and answers the
   * cancel or pause asked of it since, so a holder that missed `onCancel` still
   * hears of a cancel. `leaseMs` 0 releases the run: it is due now, for any worker.
   * `failed`: attempts that failed since the run's last write, recorded in this one (see `store/history.ts`).
   */
  touch(id: string, version: number, leaseMs: number, failed?: readonly FailedAttempt[]): Promise<TouchResult>;

  /**
   * A step's heartbeat: renews the lease as `touch` does, and records `details` as the latest
   * progress of step `key` (replacing the one before). Answers the cancel or pause asked of the run.
   */
  heartbeat(id: string, version: number, key: string, details: Uint8Array, leaseMs: number): Promise<TouchResult>;

  /** The latest progress of each step that reported some, by commit key (empty for an unknown run). */
  progress(id: string): Promise<ReadonlyMap<string, StepProgress>>;

  /**
   * The records of each step's last attempts (at most `ATTEMPTS_KEPT`, oldest first), by commit key:
   * committed steps, and steps running, waiting or failed (empty for an unknown run).
   */
  attemptRecords(id: string): Promise<ReadonlyMap<string, readonly AttemptRecord[]>>;

  /**
   * The run's last events (at most `HISTORY_LIMIT`), in the order they were recorded (a failed
   * attempt is recorded with the next write, dated when it failed); null when there is no such run.
   */
  history(id: string): Promise<readonly RunEvent[] | null>;

  /**
   * The signals buffered for the run and not taken yet, one {@link SignalBuffer} per name (empty for
   * an unknown run, or one with none). A read only: sending and taking signals write nothing for it.
   */
  signalBuffers(id: string, limit: number, previewBytes: number): Promise<readonly SignalBuffer[]>;

  /**
   * The commit keys of the run's committed steps in the order they were committed (what a
   * failed run's compensations run in reverse). Covers the keys written by `commit`.
   */
  commitOrder(id: string): Promise<readonly string[]>;

  /**
   * Commits a step's output and advances the run in one write. With a pause
   * requested, the output is kept and the run pauses; with a cancel requested,
   * the output is dropped and the run is cancelled. Re-sending the last commit
   * (its reply was lost) answers `alreadyCommitted`.
   *
   * Failure semantics:
   * - All or nothing: the output, its attempt count and record, the `step.committed` event and
   *   the run's advance (a new version, a renewed lease) are written together, or not at all.
   * - Exactly once per commit key: the write is a compare-and-set on
   *   `version`. A caller whose lease lapsed and whose run another worker took
   *   gets `StaleVersionError` and writes nothing, so it can never overwrite a
   *   newer commit.
   * - A commit whose reply was lost (a dropped connection) may be sent again
   *   with the same version: it answers `alreadyCommitted`, not a conflict,
   *   and writes nothing twice.
   * - A step whose caller died before its commit landed has no output: the
   *   next worker runs it again. An acknowledged commit is as durable as the
   *   store: a Redis failover or an AOF rollback can lose the last ones, and
   *   those steps run again. That is why tasks are at-least-once and should
   *   use `ctx.idempotencyKey` for their side effects.
   * - `then` is applied in the same write, only when the output is committed (a cancel or pause
   *   asked of the run stops it first): a re-sent commit that answers `alreadyCommitted` applied it
   *   too. A run completed by `then` is one new version, as a commit is.
   */
  commit(
    id: string,
    version: number,
    key: string,
    output: Uint8Array,
    attempts: number,
    leaseMs: number,
    /** Commit keys this output replaces (a loop's earlier iterations), dropped in the same write. */
    replaces?: readonly string[],
    /** Attempts that failed since the run's last write, recorded in this one. */
    failed?: readonly FailedAttempt[],
    /** What the run goes on to in the same write: the next step's attempt starts, or the run completes. */
    then?: CommitThen,
  ): Promise<CommitResult>;

  /**
   * Records that attempt `attempt` of step `key` starts, before the task runs,
   * so attempts spent on a worker that dies still count, and opens its record
   * (dated now). Renews the lease and answers what was asked of the run, as `touch` does.
   * `failed`: attempts that failed since the run's last write (the one before this, retried), recorded in this one.
   */
  startAttempt(
    id: string,
    version: number,
    key: string,
    attempt: number,
    leaseMs: number,
    failed?: readonly FailedAttempt[],
  ): Promise<TouchResult>;

  /**
   * Takes the first buffered `signal` as the output of step `key` in one write.
   * With none buffered and the step's recorded `timeoutAt` passed, the timeout
   * wins: `fallback` (when given) is committed as the output. Exactly one wins.
   */
  takeSignal(
    id: string,
    version: number,
    key: string,
    signal: string,
    fallback: Uint8Array | null,
    leaseMs: number,
  ): Promise<TakeSignalResult>;

  /**
   * Parks the run on `waits`, unless a signal one of them waits for is already
   * buffered (`signalled`: go on). A wait whose key already has a deadline
   * keeps it. `attempts` records retries parked until later, `failed` the attempts that failed since
   * the run's last write. A delay, signal or child wait opens its step's attempt record the first time it parks.
   */
  park(
    id: string,
    version: number,
    waits: readonly WaitRequest[],
    attempts: Readonly<Record<string, number>>,
    failed?: readonly FailedAttempt[],
  ): Promise<ParkResult>;

  /**
   * Ends the run: `completed` with its result, or `failed` with its error. A requested cancel wins over completion.
   * `failed`: attempts that failed since the run's last write, recorded in this one.
   */
  finish(
    id: string,
    version: number,
    end: { readonly status: "completed"; readonly result: Uint8Array } | { readonly status: "failed"; readonly error: SerializedError },
    failed?: readonly FailedAttempt[],
  ): Promise<WriteResult>;

  /**
   * Leaves the run parked and not due for `retryAfterMs`, with `error` saying
   * why (a definition this worker does not have). Nothing committed changes.
   */
  block(id: string, version: number, error: SerializedError, retryAfterMs: number): Promise<void>;

  /**
   * Buffers a signal (first in, first out per name). When the run is parked
   * waiting for it, the run becomes due now (`woke`). A `deliveryId` the run
   * was sent before buffers nothing: the call answers as the first one did, so
   * a call sent twice (a connection resending a command whose reply it lost)
   * delivers once. Checked before the finished check, so a resent call still
   * succeeds after the first one let the run finish.
   * @throws RunFinishedError for a finished run.
   */
  signal(id: string, name: string, payload: Uint8Array, deliveryId?: string): Promise<SignalResult>;

  /**
   * Records that run `id` was started as a child by step `parent.key` of run `parent.id`. The first
   * link wins: answers the parent recorded (another one when the id already had a parent). Leaves
   * the version alone, so a worker holding the run is not fenced.
   * @throws UnknownInstanceError
   */
  linkParent(id: string, parent: RunLink): Promise<RunLink>;

  /**
   * Records on run `id` that its step `key` started child run `childId`. Leaves the version alone
   * (the worker holding the run writes it between its own versioned writes).
   * @throws UnknownInstanceError
   */
  linkChild(id: string, key: string, childId: string): Promise<void>;

  /**
   * Starts `run` afresh under an id that may be taken: the old run (live or
   * finished) is deleted and a running one told to abort its tasks; the new run
   * starts at the old version + 1, so a worker still holding the old run is fenced.
   */
  restart(run: NewRun): Promise<{ readonly replaced: boolean; readonly header: RunHeader }>;

  /** Sends a failed or cancelled run back to work from the step that failed, attempts reset. @throws RunStateError */
  retry(id: string): Promise<ControlResult>;
  /**
   * Drops the output of `to` and of the steps in `drop` (those depending on it), their
   * attempts and waits, and the result; the run goes on from there (a paused run stays paused).
   * @throws UnknownStepError when the run has no output under `to`
   */
  rewind(id: string, to: string, drop: StepKeySet): Promise<ControlResult>;
  /**
   * Moves the run to definition `hash` of its workflow after renaming keys by `renames`: every
   * committed key must be in `keys`, else nothing changes. A live run goes on (due now) unless paused.
   * `signals` replaces the signal names recorded at start (those the new definition waits for).
   * @throws IncompatibleDefinitionError, UnknownStepError (a rename of a key without output)
   */
  migrate(
    id: string,
    hash: string,
    keys: StepKeySet,
    renames: Readonly<Record<string, string>>,
    signals?: readonly string[],
  ): Promise<ControlResult>;
  /** Deletes a finished run now, keys and index entries. @throws RunStateError for a live run */
  delete(id: string): Promise<void>;
  /** One bounded batch of a purge: deletes matching finished runs and says where the next batch starts (null: done). */
  purge(batch: PurgeBatch): Promise<{ readonly deleted: number; readonly next: number | null }>;
  /**
   * Sets how long finished runs are kept: the namespace's defaults (`workflow` null) or one
   * workflow's overrides. Replaces that level as a whole; a status left out falls to the next level.
   * Applies to runs that finish afterwards.
   */
  setRetention(workflow: string | null, retention: RetentionMs): Promise<void>;
  /** Removes up to `limit` runs whose retention passed (their index entries; on Redis the keys already expired). */
  trimExpired(limit: number): Promise<{ readonly trimmed: number; readonly nextAt: number | null }>;

  /** Cancels at once unless running (then at its next step boundary). @throws RunFinishedError */
  cancel(id: string): Promise<ControlResult>;
  /** Pauses at once unless running (then at its next step boundary). @throws RunFinishedError */
  pause(id: string): Promise<ControlResult>;
  /** Makes a paused run due now (or withdraws a pending pause request). @throws RunFinishedError */
  resume(id: string): Promise<ControlResult>;

  /**
   * What a sender checks a signal against (the run's workflow, hash, status and recorded signal
   * names), and how `deliveryId` was delivered before, if it was. Null when there is no such run.
   */
  signalTarget(id: string, deliveryId?: string): Promise<SignalTarget | null>;

  /** The run, or null. `outputs: false` skips loading step outputs. */
  get(id: string, options?: { readonly outputs?: boolean }): Promise<StoredRun | null>;
  /**
   * Runs by status and/or workflow, id prefix, creation and finish time, in `query.order` (see
   * `store/list-order.ts`, the one definition of the order and of where a cursor resumes), a page at a time.
   */
  list(query: ListQuery): Promise<ListPage>;
  /**
   * How many runs have each status (of one workflow when `query.workflow` is
   * given), read from the status indexes without loading a run: the cost does
   * not grow with the runs of that status. Every status is present (0 when none).
   */
  counts(query?: CountQuery): Promise<Record<RunStatus, number>>;
  /**
   * Ids of runs due by the store's now minus `graceMs` (timers passed, signals
   * delivered, leases expired), earliest first, with the next due time after that.
   */
  due(
    limit: number,
    graceMs?: number,
  ): Promise<{ readonly ids: readonly string[]; readonly nextDueAt: number | null; readonly now: number }>;
  /**
   * Writes a schedule: creates it (`write.version` 0; `ScheduleExistsError` when the id exists) or
   * replaces it when `write.version` is the stored one (`StaleVersionError` otherwise,
   * `UnknownScheduleError` when it is gone), and places it in the schedules' due index.
   */
  putSchedule(write: ScheduleWrite): Promise<{ readonly version: number; readonly dueAt: number | null; readonly now: number }>;
  /** The schedule, or null. */
  getSchedule(id: string): Promise<StoredSchedule | null>;
  /** Schedules in id order, a page at a time (`cursor`: the last id of the previous page). */
  listSchedules(query: { readonly limit: number; readonly cursor?: string }): Promise<SchedulePage>;
  /** Removes the schedule; false when there was none. Runs it started are not touched. */
  deleteSchedule(id: string): Promise<boolean>;
  /** Ids of schedules due by the store's now, earliest first, with the next due time after that. */
  dueSchedules(limit: number): Promise<{ readonly ids: readonly string[]; readonly nextDueAt: number | null; readonly now: number }>;

  /** Tells `listener` of every run that finishes, from any process sharing the store. */
  onFinish(listener: FinishListener): Promise<() => Promise<void>>;
  /**
   * Tells `listener` of every cancel asked of a running run, from any process
   * sharing the store, so the worker holding it aborts its tasks at once. At
   * most once (pub/sub on Redis): `touch` answers the request too. `onGap` is
   * told when the listener may have missed some (its subscription was lost,
   * and is back): a holder asks the store about the runs it holds, rather than
   * waiting for its next lease renewal.
   */
  onCancel(listener: CancelListener, onGap?: () => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}
