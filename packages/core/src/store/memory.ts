/**
 * The in-memory store: the embedded default and the reference for what each
 * store operation means. Not a mock: it keeps encoded bytes, versions,
 * deadlines and the due index exactly as the Redis store does, so the same
 * behaviour suite runs against both.
 */
import { MemoryFlowControl } from "../flow-control/memory.js";
import { type FlowControl, parseSlotWaitKey, type WakeOutcome } from "../flow-control/types.js";
import type { Clock } from "../clock.js";
import { realClock } from "../clock.js";
import {
  IncompatibleDefinitionError,
  RunFinishedError,
  RunStateError,
  ScheduleExistsError,
  StaleVersionError,
  UnknownInstanceError,
  UnknownScheduleError,
  UnknownStepError,
  type SerializedError,
} from "../errors.js";
import type { SchedulePage, ScheduleWrite, StoredSchedule } from "./schedule-types.js";
import { decodeListCursor, encodeListCursor } from "./cursor.js";
import { compareForList, DEFAULT_LIST_ORDER, isPastCursor, listPosition, listsByFinish, matchesListQuery } from "./list-order.js";
import { stepKeyMatcher } from "./step-keys.js";
import {
  appendEvent,
  commitEvent,
  endedAttempt,
  recordFailure,
  startedAttempt,
  statusEvent,
  waitOpensRecord,
  type AttemptRecord,
  type FailedAttempt,
  type NewRunEvent,
  type RunEvent,
  recordedError,
} from "./history.js";
import {
  DEFAULT_RETENTION_MS,
  FINISHED_STATUSES,
  START_WAIT_KEY,
  type AcquireResult,
  type FinishedStatus,
  type PurgeBatch,
  type RetentionMs,
  type StepKeySet,
  type CancelListener,
  type CommitResult,
  type CommitThen,
  type ControlResult,
  type CountQuery,
  type FinishListener,
  type ListPage,
  type ListQuery,
  type NewRun,
  type ParkResult,
  type RunHeader,
  type RunLink,
  type RunStatus,
  type SignalBuffer,
  type SignalResult,
  type SignalTarget,
  type StepProgress,
  type Store,
  type StoredRun,
  type TakeSignalResult,
  type TouchResult,
  type Wait,
  type WaitRequest,
  type WriteResult,
} from "./types.js";

interface Record_ {
  header: RunHeader;
  readonly input: Uint8Array;
  readonly outputs: Map<string, Uint8Array>;
  result: Uint8Array | null;
  /** Signal buffers by name, first in first out. */
  readonly signals: Map<string, Uint8Array[]>;
  /** The commit key of the last commit, so a re-sent commit is recognised. */
  lastCommit: string | null;
  /** How each signal delivery id sent to the run was delivered, so a resent signal is buffered once. */
  readonly deliveries: Map<string, SignalResult["delivered"]>;
  /** When a finished run's retention passes (store time); null while live or kept for ever. */
  expiresAt: number | null;
  /** The signal names its definition waits for, recorded at start (null when not given). */
  signalNames: readonly string[] | null;
  /** The latest heartbeat details of each step that sent one. */
  readonly progress: Map<string, StepProgress>;
  /** The last events of the run, oldest first (see `store/history.ts`). */
  readonly history: RunEvent[];
  /** The records of each step's last attempts, by commit key. */
  readonly tries: Map<string, AttemptRecord[]>;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The data of a memory store, for copying one (a simulated crash and restart). */
export interface MemoryStoreData {
  readonly records: ReadonlyMap<string, unknown>;
  readonly schedules?: ReadonlyMap<string, unknown>;
  readonly retention?: ReadonlyMap<string, number | null>;
}

type ScheduleRecord = Omit<StoredSchedule, "now">;

/**
 * The version a run gets when it is handed to a worker (`acquire`): above the one it has, and at
 * least the store's clock in microseconds, as `handoverVersion` in the Redis store's scripts. A
 * store restored from an older copy (a Redis failover to a replica that lagged) cannot hand a new
 * holder a version the holder it fenced still writes with: that one made far fewer writes since
 * its own handover than microseconds passed.
 */
function handoverVersion(version: number, nowMs: number): number {
  return Math.max(version + 1, nowMs * 1000);
}

export class MemoryStore implements Store {
  private readonly runs: Map<string, Record_>;
  private readonly schedules: Map<string, ScheduleRecord>;
  private readonly listeners = new Set<FinishListener>();
  private readonly cancelListeners = new Set<CancelListener>();
  /** Concurrency and rate limits, over this store's clock. */
  readonly flowControl: FlowControl;
  /** Retention by "<status>" (the namespace's) and "<status>:<workflow>", as the Redis store keeps it. */
  private readonly retention: Map<string, number | null>;

  constructor(
    private readonly clock: Clock = realClock,
    data?: MemoryStoreData,
  ) {
    this.runs = data ? (structuredClone(data.records) as Map<string, Record_>) : new Map<string, Record_>();
    this.retention = new Map(data?.retention);
    this.schedules = data?.schedules ? (structuredClone(data.schedules) as Map<string, ScheduleRecord>) : new Map<string, ScheduleRecord>();
    this.flowControl = new MemoryFlowControl(clock, (id, limit) => this.wakeSlotWaiter(id, limit));
  }

  /** Makes a run parked on a slot wait of `limit` due now (as `wakeSlotWaiter-2.lua` does). */
  private wakeSlotWaiter(id: string, limit: string): WakeOutcome {
    const r = this.runs.get(id);
    if (!r) return { outcome: "gone" };
    const { status, waits } = r.header;
    if (status === "running" || status === "pending") return { outcome: "running" };
    const waiting = waits.some((w) => w.kind === "timer" && w.reason === "slot" && parseSlotWaitKey(w.key)?.limit === limit);
    if (status !== "parked" || !waiting) return { outcome: "gone" };
    this.write(r, { dueAt: this.clock.now() });
    return { outcome: "woke", version: r.header.version };
  }

  /** A deep copy of everything stored, to build a second store from (as after a process restart). */
  snapshot(): MemoryStoreData {
    return { records: structuredClone(this.runs), schedules: structuredClone(this.schedules), retention: new Map(this.retention) };
  }

  async start(run: NewRun): Promise<{ created: boolean; header: RunHeader }> {
    const existing = this.lookup(run.id);
    if (existing) return { created: false, header: existing.header };
    return { created: true, header: this.create(run).header };
  }

  async signalWithStart(
    run: NewRun,
    name: string,
    payload: Uint8Array,
    deliveryId?: string,
  ): Promise<{ created: boolean; header: RunHeader; signal: SignalResult | null }> {
    const existing = this.lookup(run.id);
    if (existing && existing.header.workflow !== run.workflow) return { created: false, header: existing.header, signal: null };
    const r = existing ?? this.create(run);
    const signal = this.deliver(r, name, payload, deliveryId);
    return { created: existing === undefined, header: r.header, signal };
  }

  async restart(run: NewRun): Promise<{ replaced: boolean; header: RunHeader }> {
    const old = this.lookup(run.id);
    if (old?.header.status === "running") for (const listener of this.cancelListeners) listener(run.id);
    return { replaced: old !== undefined, header: this.create(run, old ? old.header.version + 1 : 1).header };
  }

  /** A new run: pending and due now, or parked on its `#start` timer until a start time still ahead. */
  private create(run: NewRun, version = 1): Record_ {
    const now = this.clock.now();
    const notBefore = run.notBefore;
    const at = notBefore === undefined ? null : "at" in notBefore ? notBefore.at : now + notBefore.delayMs;
    const delayed = at !== null && at > now;
    const header: RunHeader = {
      id: run.id,
      workflow: run.workflow,
      hash: run.hash,
      status: delayed ? "parked" : "pending",
      version,
      waits: delayed ? [{ kind: "timer", key: START_WAIT_KEY, reason: "start", until: at }] : [],
      attempts: {},
      error: null,
      requested: null,
      dueAt: delayed ? at : now,
      createdAt: now,
      updatedAt: now,
      ...(delayed ? { startAt: at } : {}),
      ...(run.parent ? { parent: { id: run.parent.id, key: run.parent.key } } : {}),
    };
    const r: Record_ = {
      header,
      input: run.input,
      outputs: new Map(),
      result: null,
      signals: new Map(),
      lastCommit: null,
      deliveries: new Map(),
      expiresAt: null,
      signalNames: run.signals === undefined ? null : [...run.signals],
      progress: new Map(),
      history: [],
      tries: new Map(),
    };
    this.runs.set(run.id, r);
    this.recordEvent(r, { type: "started", ...(delayed ? { startAt: at } : {}) });
    return r;
  }

  async acquire(id: string, leaseMs: number): Promise<AcquireResult> {
    const r = this.record(id);
    const now = this.clock.now();
    const { status, dueAt } = r.header;
    if (FINISHED_STATUSES.includes(status)) return { acquired: false, reason: "finished" };
    if (status === "paused") return { acquired: false, reason: "paused" };
    if (status === "running" && dueAt !== null && dueAt > now) return { acquired: false, reason: "busy", dueAt, now };
    if (status === "parked" && (dueAt === null || dueAt > now)) return { acquired: false, reason: "not-due", dueAt, now };
    // A cancel or pause asked of a run whose worker died applies at the boundary it was waiting for.
    if (r.header.requested === "cancel") {
      this.write(r, { status: "cancelled", waits: [], dueAt: null, requested: null });
      this.notify(r);
      return { acquired: false, reason: "cancelled", header: r.header };
    }
    if (r.header.requested === "pause") {
      this.write(r, { status: "paused", dueAt: null, requested: null });
      return { acquired: false, reason: "paused" };
    }
    // A run whose worker's lease lapsed is taken over; one that was parked woke (the status change says so).
    const version = handoverVersion(r.header.version, now);
    this.write(
      r,
      { status: "running", dueAt: now + leaseMs, error: null, version },
      status === "running" ? { type: "recovered" } : undefined,
    );
    return { acquired: true, run: this.view(r, true) };
  }

  async touch(id: string, version: number, leaseMs: number, failed: readonly FailedAttempt[] = []): Promise<TouchResult> {
    const r = this.expect(id, version);
    this.recordFailures(r, failed);
    if (r.header.status === "running") r.header = { ...r.header, dueAt: this.clock.now() + leaseMs };
    return { requested: r.header.requested };
  }

  async heartbeat(id: string, version: number, key: string, details: Uint8Array, leaseMs: number): Promise<TouchResult> {
    const touched = await this.touch(id, version, leaseMs);
    this.record(id).progress.set(key, { details, at: this.clock.now() });
    return touched;
  }

  async progress(id: string): Promise<ReadonlyMap<string, StepProgress>> {
    return new Map(this.runs.get(id)?.progress ?? []);
  }

  async attemptRecords(id: string): Promise<ReadonlyMap<string, readonly AttemptRecord[]>> {
    return new Map(this.lookup(id)?.tries ?? []);
  }

  async history(id: string): Promise<readonly RunEvent[] | null> {
    const r = this.lookup(id);
    return r ? [...r.history] : null;
  }

  async signalBuffers(id: string, limit: number, previewBytes: number): Promise<readonly SignalBuffer[]> {
    const buffers = [...(this.lookup(id)?.signals ?? [])].filter(([, payloads]) => payloads.length > 0);
    return buffers.map(([name, payloads]) => ({
      name,
      count: payloads.length,
      oldest: payloads.slice(0, limit).map((p) => ({ bytes: p.length, payload: p.length <= previewBytes ? p : null })),
    }));
  }

  /** A Map keeps insertion order, and each commit key is inserted once: its order is the commit order. */
  async commitOrder(id: string): Promise<readonly string[]> {
    return [...this.record(id).outputs.keys()];
  }

  async commit(
    id: string,
    version: number,
    key: string,
    output: Uint8Array,
    attempts: number,
    leaseMs: number,
    replaces: readonly string[] = [],
    failed: readonly FailedAttempt[] = [],
    then?: CommitThen,
  ): Promise<CommitResult> {
    const r = this.record(id);
    if (r.outputs.has(key) && r.lastCommit === key && r.header.version === version + 1) {
      return { ok: true, alreadyCommitted: true, version: r.header.version };
    }
    this.expect(id, version);
    this.recordFailures(r, failed);
    // The attempt ended, whether its output is kept or a cancel drops it.
    this.endAttempt(r, key, attempts);
    // A loop keeps only its last iterations: the ones this commit replaces go in the same write.
    const keep = () => {
      r.outputs.set(key, output);
      const kept = { ...r.header.attempts, [key]: attempts };
      for (const replaced of replaces) {
        if (replaced === key) continue;
        r.outputs.delete(replaced);
        r.tries.delete(replaced);
        delete kept[replaced];
      }
      this.recordEvent(r, commitEvent(key, attempts));
      return kept;
    };
    const stop = this.stopAtBoundary(r, () => ({ attempts: keep() }));
    if (stop) return stop;
    r.lastCommit = key;
    const attemptsKept = keep();
    if (then !== undefined && "complete" in then) {
      r.result = then.complete;
      this.write(r, { attempts: attemptsKept, status: "completed", waits: [], dueAt: null, requested: null, error: null });
      this.notify(r);
      return { ok: true, version: r.header.version };
    }
    if (then !== undefined) {
      const { key: next, attempt } = then.startAttempt;
      attemptsKept[next] = attempt;
      r.tries.set(next, startedAttempt(r.tries.get(next) ?? [], attempt, this.clock.now()));
    }
    this.write(r, { attempts: attemptsKept, dueAt: this.clock.now() + leaseMs });
    return { ok: true, version: r.header.version };
  }

  async startAttempt(
    id: string,
    version: number,
    key: string,
    attempt: number,
    leaseMs: number,
    failed: readonly FailedAttempt[] = [],
  ): Promise<TouchResult> {
    const r = this.expect(id, version);
    this.recordFailures(r, failed);
    r.tries.set(key, startedAttempt(r.tries.get(key) ?? [], attempt, this.clock.now()));
    const dueAt = r.header.status === "running" ? this.clock.now() + leaseMs : r.header.dueAt;
    r.header = { ...r.header, attempts: { ...r.header.attempts, [key]: attempt }, dueAt };
    return { requested: r.header.requested };
  }

  async takeSignal(
    id: string,
    version: number,
    key: string,
    signal: string,
    fallback: Uint8Array | null,
    leaseMs: number,
  ): Promise<TakeSignalResult> {
    const r = this.expect(id, version);
    const buffer = r.signals.get(signal);
    const payload = buffer?.[0];
    const now = this.clock.now();
    if (payload !== undefined) {
      const stop = this.stopAtBoundary(r, () => ({}));
      if (stop) return stop;
      buffer!.shift();
      this.commitTaken(r, key, payload, leaseMs);
      return { outcome: "signal", payload, version: r.header.version };
    }
    const wait = r.header.waits.find((w) => w.key === key && w.kind === "signal");
    if (wait?.kind !== "signal" || wait.timeoutAt === null || wait.timeoutAt > now) return { outcome: "none" };
    if (fallback === null) return { outcome: "timeout", committed: false, version: r.header.version };
    const stop = this.stopAtBoundary(r, () => ({}));
    if (stop) return stop;
    this.commitTaken(r, key, fallback, leaseMs);
    return { outcome: "timeout", committed: true, version: r.header.version };
  }

  /** Commits what a signal step took (the signal, or its timeout's fallback) as a commit does. */
  private commitTaken(r: Record_, key: string, output: Uint8Array, leaseMs: number): void {
    r.outputs.set(key, output);
    r.lastCommit = key;
    this.endAttempt(r, key, 1);
    this.recordEvent(r, commitEvent(key, 1));
    this.write(r, { attempts: { ...r.header.attempts, [key]: 1 }, dueAt: this.clock.now() + leaseMs });
  }

  async park(
    id: string,
    version: number,
    requests: readonly WaitRequest[],
    attempts: Readonly<Record<string, number>>,
    failed: readonly FailedAttempt[] = [],
  ): Promise<ParkResult> {
    const r = this.expect(id, version);
    this.recordFailures(r, failed);
    if (requests.some((w) => w.kind === "signal" && (r.signals.get(w.signal)?.length ?? 0) > 0)) {
      return { outcome: "signalled", version: r.header.version };
    }
    const now = this.clock.now();
    const waits = requests.map((w) => resolveWait(w, r.header.waits, now));
    const merged = { ...r.header.attempts, ...attempts };
    const requested = r.header.requested;
    if (requested === "cancel") {
      this.write(r, { status: "cancelled", waits: [], attempts: merged, dueAt: null, requested: null });
      this.notify(r);
      return { outcome: "stopped", stopped: "cancelled", version: r.header.version };
    }
    const dueAt = earliestDeadline(waits);
    // A step that waits (a delay, a signal, a child) starts when it first parks.
    for (const wait of waits) {
      if (waitOpensRecord(wait) && !r.tries.has(wait.key)) r.tries.set(wait.key, startedAttempt([], 1, now));
    }
    if (requested === "pause") {
      this.write(r, { status: "paused", waits, attempts: merged, dueAt: null, requested: null });
      return { outcome: "stopped", stopped: "paused", version: r.header.version };
    }
    this.write(r, { status: "parked", waits, attempts: merged, dueAt });
    return { outcome: "parked", version: r.header.version, dueAt };
  }

  async finish(
    id: string,
    version: number,
    end: { readonly status: "completed"; readonly result: Uint8Array } | { readonly status: "failed"; readonly error: SerializedError },
    failed: readonly FailedAttempt[] = [],
  ): Promise<WriteResult> {
    const r = this.expect(id, version);
    this.recordFailures(r, failed);
    if (r.header.requested === "cancel") {
      this.write(r, { status: "cancelled", waits: [], dueAt: null, requested: null });
      this.notify(r);
      return { ok: false, stopped: "cancelled", version: r.header.version };
    }
    if (end.status === "completed") r.result = end.result;
    this.write(r, {
      status: end.status,
      waits: [],
      dueAt: null,
      requested: null,
      error: end.status === "failed" ? end.error : null,
    });
    this.notify(r);
    return { ok: true, version: r.header.version };
  }

  async block(id: string, version: number, error: SerializedError, retryAfterMs: number): Promise<void> {
    const r = this.expect(id, version);
    this.write(
      r,
      { status: "parked", error, dueAt: this.clock.now() + retryAfterMs },
      { type: "blocked", error: recordedError(error, { stack: false }) },
    );
  }

  async signal(id: string, name: string, payload: Uint8Array, deliveryId?: string): Promise<SignalResult> {
    return this.deliver(this.record(id), name, payload, deliveryId);
  }

  private deliver(r: Record_, name: string, payload: Uint8Array, deliveryId: string | undefined): SignalResult {
    const before = deliveryId === undefined ? undefined : r.deliveries.get(deliveryId);
    if (before) return { delivered: before, dueAt: r.header.dueAt, version: r.header.version };
    this.assertLive(r, `signal "${name}"`);
    const buffer = r.signals.get(name) ?? [];
    buffer.push(payload);
    r.signals.set(name, buffer);
    const waiting = r.header.status === "parked" && r.header.waits.some((w) => w.kind === "signal" && w.signal === name);
    const delivered = waiting ? "woke" : "buffered";
    if (deliveryId !== undefined) r.deliveries.set(deliveryId, delivered);
    const received: NewRunEvent = { type: "signal.received", signal: name };
    if (!waiting) {
      this.recordEvent(r, received);
      return { delivered, dueAt: r.header.dueAt, version: r.header.version };
    }
    const now = this.clock.now();
    this.write(r, { dueAt: now }, received);
    return { delivered, dueAt: now, version: r.header.version };
  }

  async linkParent(id: string, parent: RunLink): Promise<RunLink> {
    const r = this.record(id);
    if (r.header.parent) return r.header.parent;
    r.header = { ...r.header, parent: { id: parent.id, key: parent.key } };
    return r.header.parent!;
  }

  async linkChild(id: string, key: string, childId: string): Promise<void> {
    const r = this.record(id);
    r.header = { ...r.header, children: { ...r.header.children, [key]: childId } };
  }

  async cancel(id: string): Promise<ControlResult> {
    const r = this.record(id);
    this.assertLive(r, "cancel");
    if (r.header.status === "running") {
      this.request(r, "cancel", { type: "cancel.requested" });
      for (const listener of this.cancelListeners) listener(id);
      return { status: "running", version: r.header.version, immediate: false };
    }
    this.write(r, { status: "cancelled", waits: [], dueAt: null, requested: null });
    this.notify(r);
    return { status: "cancelled", version: r.header.version, immediate: true };
  }

  async pause(id: string): Promise<ControlResult> {
    const r = this.record(id);
    this.assertLive(r, "pause");
    if (r.header.status === "running") {
      if (r.header.requested !== "cancel") this.request(r, "pause", { type: "pause.requested" });
      return { status: "running", version: r.header.version, immediate: false };
    }
    if (r.header.status !== "paused") this.write(r, { status: "paused", dueAt: null });
    return { status: "paused", version: r.header.version, immediate: true };
  }

  async resume(id: string): Promise<ControlResult> {
    const r = this.record(id);
    this.assertLive(r, "resume");
    if (r.header.status === "running") {
      if (r.header.requested === "pause") this.request(r, null, { type: "resumed" });
      return { status: "running", version: r.header.version, immediate: true };
    }
    if (r.header.status !== "paused") return { status: r.header.status, version: r.header.version, immediate: true };
    const status = r.header.waits.length > 0 ? "parked" : "pending";
    // A run paused before its delayed start still waits for it.
    const start = r.header.waits.find((w) => w.kind === "timer" && w.reason === "start");
    this.write(r, { status, dueAt: Math.max(this.clock.now(), start?.kind === "timer" ? start.until : 0) }, { type: "resumed" });
    return { status, version: r.header.version, immediate: true };
  }

  async signalTarget(id: string, deliveryId?: string): Promise<SignalTarget | null> {
    const r = this.runs.get(id);
    if (!r) return null;
    const { workflow, hash, status } = r.header;
    const delivered = deliveryId === undefined ? null : (r.deliveries.get(deliveryId) ?? null);
    return { workflow, hash, status, names: r.signalNames ?? null, delivered };
  }

  async get(id: string, options: { readonly outputs?: boolean } = {}): Promise<StoredRun | null> {
    const r = this.lookup(id);
    return r ? this.view(r, options.outputs ?? true) : null;
  }

  async list(query: ListQuery): Promise<ListPage> {
    const limit = query.limit ?? 100;
    const order = query.order ?? DEFAULT_LIST_ORDER;
    const after = query.cursor === undefined ? null : decodeListCursor(query.cursor);
    const byFinish = listsByFinish(query);
    const matching = this.alive()
      .map((r) => r.header)
      .filter((h) => matchesListQuery(h, query) && isPastCursor(listPosition(h, byFinish), after, order))
      .sort((a, b) => compareForList(listPosition(a, byFinish), listPosition(b, byFinish), order));
    const page = matching.slice(0, limit);
    const last = page[page.length - 1];
    return { runs: page, cursor: matching.length > limit && last ? encodeListCursor(listPosition(last, byFinish)) : null };
  }

  async counts(query: CountQuery = {}): Promise<Record<RunStatus, number>> {
    const counts: Record<RunStatus, number> = { pending: 0, running: 0, parked: 0, paused: 0, completed: 0, failed: 0, cancelled: 0 };
    // An in-process walk: no store round trip to save, and no second index to keep in step with every write.
    for (const { header } of this.alive()) if (query.workflow === undefined || header.workflow === query.workflow) counts[header.status]++;
    return counts;
  }

  async due(limit: number, graceMs = 0): Promise<{ ids: readonly string[]; nextDueAt: number | null; now: number }> {
    const now = this.clock.now() - graceMs;
    const scheduled = this.alive()
      .map((r) => r.header)
      .filter((h): h is RunHeader & { dueAt: number } => h.dueAt !== null)
      .sort((a, b) => a.dueAt - b.dueAt);
    const ids = scheduled
      .filter((h) => h.dueAt <= now)
      .slice(0, limit)
      .map((h) => h.id);
    const next = scheduled.find((h) => h.dueAt > now);
    return { ids, nextDueAt: next ? next.dueAt : null, now: now + graceMs };
  }

  async putSchedule(write: ScheduleWrite): Promise<{ version: number; dueAt: number | null; now: number }> {
    const before = this.schedules.get(write.id);
    if (write.version === 0 && before) throw new ScheduleExistsError(`schedule "${write.id}" exists`, { scheduleId: write.id });
    if (write.version !== 0 && !before) throw new UnknownScheduleError(`no schedule with id "${write.id}"`, { scheduleId: write.id });
    if (before && before.version !== write.version) {
      throw new StaleVersionError(`schedule "${write.id}" is at version ${before.version}, not ${write.version}`, {
        scheduleId: write.id,
        expected: write.version,
        actual: before.version,
      });
    }
    const now = this.clock.now();
    const dueAt = "leaseMs" in write.due ? now + write.due.leaseMs : write.due.at;
    const version = write.version + 1;
    this.schedules.set(write.id, {
      id: write.id,
      version,
      state: structuredClone(write.state),
      input: write.input ?? before!.input,
      dueAt,
      createdAt: before?.createdAt ?? now,
      updatedAt: now,
    });
    return { version, dueAt, now };
  }

  async getSchedule(id: string): Promise<StoredSchedule | null> {
    const s = this.schedules.get(id);
    return s ? { ...s, state: structuredClone(s.state), now: this.clock.now() } : null;
  }

  async listSchedules(query: { readonly limit: number; readonly cursor?: string }): Promise<SchedulePage> {
    const after = query.cursor;
    const ids = [...this.schedules.keys()].filter((id) => after === undefined || id > after).sort();
    const page = ids.slice(0, query.limit);
    const schedules = (await Promise.all(page.map((id) => this.getSchedule(id)))).filter((s) => s !== null);
    return { schedules, cursor: ids.length > query.limit ? page[page.length - 1]! : null };
  }

  async deleteSchedule(id: string): Promise<boolean> {
    return this.schedules.delete(id);
  }

  async dueSchedules(limit: number): Promise<{ ids: readonly string[]; nextDueAt: number | null; now: number }> {
    const now = this.clock.now();
    const scheduled = [...this.schedules.values()]
      .filter((s): s is ScheduleRecord & { dueAt: number } => s.dueAt !== null)
      .sort((a, b) => a.dueAt - b.dueAt);
    const ids = scheduled
      .filter((s) => s.dueAt <= now)
      .slice(0, limit)
      .map((s) => s.id);
    return { ids, nextDueAt: scheduled.find((s) => s.dueAt > now)?.dueAt ?? null, now };
  }

  async onFinish(listener: FinishListener): Promise<() => Promise<void>> {
    this.listeners.add(listener);
    return async () => {
      this.listeners.delete(listener);
    };
  }

  /** In process, no cancel is ever missed: `onGap` is never told. */
  async onCancel(listener: CancelListener, _onGap?: () => void): Promise<() => Promise<void>> {
    this.cancelListeners.add(listener);
    return async () => {
      this.cancelListeners.delete(listener);
    };
  }

  async close(): Promise<void> {
    this.listeners.clear();
    this.cancelListeners.clear();
  }

  async retry(id: string): Promise<ControlResult> {
    const r = this.record(id);
    if (r.header.status !== "failed" && r.header.status !== "cancelled") throw stateError(r.header, "retry", "failed or cancelled");
    const attempts = Object.fromEntries(Object.entries(r.header.attempts).filter(([key]) => r.outputs.has(key)));
    for (const key of [...r.tries.keys()]) if (!r.outputs.has(key)) r.tries.delete(key);
    return this.sendOn(r, [], { attempts }, { type: "retried" });
  }

  async rewind(id: string, to: string, drop: StepKeySet): Promise<ControlResult> {
    const r = this.record(id);
    if (!r.outputs.has(to)) throw unknownStep(id, to);
    const dropped = stepKeyMatcher(drop);
    for (const key of [...r.outputs.keys()]) if (dropped(key)) r.outputs.delete(key);
    for (const key of [...r.tries.keys()]) if (dropped(key)) r.tries.delete(key);
    const attempts = Object.fromEntries(Object.entries(r.header.attempts).filter(([key]) => !dropped(key)));
    r.result = null;
    return this.sendOn(
      r,
      r.header.waits.filter((w) => !dropped(w.key)),
      { attempts },
      { type: "rewound", to },
    );
  }

  async migrate(
    id: string,
    hash: string,
    keys: StepKeySet,
    renames: Readonly<Record<string, string>>,
    signals?: readonly string[],
  ): Promise<ControlResult> {
    const r = this.record(id);
    const allowed = stepKeyMatcher(keys);
    const renamed = (key: string) => renames[key] ?? key;
    for (const old of Object.keys(renames)) if (!r.outputs.has(old)) throw unknownStep(id, old);
    for (const key of r.outputs.keys()) {
      if (!allowed(renamed(key))) {
        throw new IncompatibleDefinitionError(
          `cannot migrate run "${id}": its committed step "${key}" is not a step of the new definition (map it with \`keys\`)`,
          { instanceId: id, workflow: r.header.workflow, step: key },
        );
      }
    }
    const outputs = [...r.outputs].map(([key, bytes]) => [renamed(key), bytes] as const);
    r.outputs.clear();
    for (const [key, bytes] of outputs) r.outputs.set(key, bytes);
    const attempts = Object.fromEntries(Object.entries(r.header.attempts).map(([key, n]) => [renamed(key), n]));
    const tries = [...r.tries].map(([key, records]) => [renamed(key), records] as const);
    r.tries.clear();
    for (const [key, records] of tries) r.tries.set(key, records);
    const waits = r.header.waits.map((w) => ({ ...w, key: renamed(w.key) })).filter((w) => allowed(w.key));
    r.lastCommit = null;
    r.signalNames = signals === undefined ? null : [...signals];
    const migrated: NewRunEvent = { type: "migrated", hash };
    if (FINISHED_STATUSES.includes(r.header.status)) {
      this.write(r, { hash, attempts, waits }, migrated);
      return { status: r.header.status, version: r.header.version, immediate: true };
    }
    return this.sendOn(r, waits, { hash, attempts }, migrated);
  }

  async delete(id: string): Promise<void> {
    const r = this.record(id);
    if (!FINISHED_STATUSES.includes(r.header.status)) throw stateError(r.header, "delete", "finished (cancel it first)");
    this.runs.delete(id);
  }

  async purge(batch: PurgeBatch): Promise<{ deleted: number; next: number | null }> {
    // The same walk as the Redis store's: by creation, `limit` runs from `offset`, kept runs counted past.
    const index = this.alive()
      .map((r) => r.header)
      .filter((h) => h.status === batch.status && (batch.workflow === undefined || h.workflow === batch.workflow))
      .sort((a, b) => compareForList(listPosition(a, false), listPosition(b, false), "oldest"))
      .slice(batch.offset, batch.offset + batch.limit);
    let deleted = 0;
    for (const h of index) {
      // As purgeRuns-1.lua: a run finished before its finish time was recorded finished at its last update.
      if (batch.finishedBefore !== undefined && (h.finishedAt ?? h.updatedAt) >= batch.finishedBefore) continue;
      this.runs.delete(h.id);
      deleted++;
    }
    return { deleted, next: index.length < batch.limit ? null : batch.offset + index.length - deleted };
  }

  async setRetention(workflow: string | null, retention: RetentionMs): Promise<void> {
    for (const status of FINISHED_STATUSES as readonly FinishedStatus[]) {
      const field = workflow === null ? status : `${status}:${workflow}`;
      const ms = retention[status];
      if (ms === undefined) this.retention.delete(field);
      else this.retention.set(field, ms);
    }
  }

  async trimExpired(limit: number): Promise<{ trimmed: number; nextAt: number | null }> {
    const now = this.clock.now();
    let trimmed = 0;
    let nextAt: number | null = null;
    for (const [id, r] of this.runs) {
      if (r.expiresAt === null) continue;
      if (r.expiresAt <= now && trimmed < limit) {
        this.runs.delete(id);
        trimmed++;
      } else if (nextAt === null || r.expiresAt < nextAt) nextAt = r.expiresAt;
    }
    return { trimmed, nextAt };
  }

  /** The run, unless absent or its retention passed (then it goes now, as its keys would on Redis). */
  private lookup(id: string): Record_ | undefined {
    const r = this.runs.get(id);
    if (r === undefined || r.expiresAt === null || r.expiresAt > this.clock.now()) return r;
    this.runs.delete(id);
    return undefined;
  }

  /** Every run whose retention has not passed. */
  private alive(): Record_[] {
    return [...this.runs.keys()].map((id) => this.lookup(id)).filter((r): r is Record_ => r !== undefined);
  }

  /** When a run that just finished goes: its workflow's retention, else the namespace's, else the default. */
  private expiryOf(h: RunHeader): number | null {
    const status = h.status as FinishedStatus;
    const own = this.retention.get(`${status}:${h.workflow}`);
    const ms = own !== undefined ? own : this.retention.has(status) ? this.retention.get(status)! : DEFAULT_RETENTION_MS[status];
    return ms === null ? null : this.clock.now() + ms;
  }

  /** A repaired run goes on: kept again, due now ("parked" with waits left, else "pending"), or still paused. */
  private sendOn(r: Record_, waits: readonly Wait[], changes: Partial<Mutable<RunHeader>>, event: NewRunEvent): ControlResult {
    const finished = FINISHED_STATUSES.includes(r.header.status);
    r.expiresAt = null;
    r.lastCommit = null;
    const paused = r.header.status === "paused";
    this.write(
      r,
      {
        ...changes,
        waits,
        error: null,
        ...(paused ? { dueAt: null } : { status: waits.length > 0 ? "parked" : "pending", dueAt: this.clock.now() }),
        ...(finished ? { requested: null } : {}),
      },
      event,
    );
    return { status: r.header.status, version: r.header.version, immediate: true };
  }

  private record(id: string): Record_ {
    const r = this.lookup(id);
    if (!r) throw new UnknownInstanceError(`no run with id "${id}"`, { instanceId: id });
    return r;
  }

  private expect(id: string, version: number): Record_ {
    const r = this.record(id);
    if (r.header.version !== version) {
      throw new StaleVersionError(`run "${id}" is at version ${r.header.version}, not ${version}: another worker advanced it`, {
        instanceId: id,
        expected: version,
        actual: r.header.version,
      });
    }
    return r;
  }

  /** Applies a requested cancel (dropping the step) or pause (keeping it) at a step boundary. */
  private stopAtBoundary(r: Record_, keep: () => Partial<RunHeader>): (WriteResult & { ok: false }) | null {
    if (r.header.requested === "cancel") {
      this.write(r, { status: "cancelled", waits: [], dueAt: null, requested: null });
      this.notify(r);
      return { ok: false, stopped: "cancelled", version: r.header.version };
    }
    if (r.header.requested === "pause") {
      this.write(r, { ...keep(), status: "paused", dueAt: null, requested: null });
      return { ok: false, stopped: "paused", version: r.header.version };
    }
    return null;
  }

  private assertLive(r: Record_, what: string): void {
    if (FINISHED_STATUSES.includes(r.header.status)) {
      throw new RunFinishedError(`cannot ${what}: run "${r.header.id}" is ${r.header.status}`, {
        instanceId: r.header.id,
        status: r.header.status,
      });
    }
  }

  /**
   * Every versioned write goes through here, as `writeHeader` in the Redis scripts: a new version,
   * and the write's event (`event`, else the one its status change means, see `statusEvent`).
   * The version goes up by one, or to `changes.version` (a handover's, see `handoverVersion`).
   */
  private write(r: Record_, changes: Partial<Mutable<RunHeader>>, event?: NewRunEvent): void {
    const before = r.header;
    const now = this.clock.now();
    const next: Mutable<RunHeader> = { ...r.header, ...changes, version: changes.version ?? r.header.version + 1, updatedAt: now };
    // A run records when it reaches a finished status, and loses it when sent on again (retry, rewind), as writeHeader does.
    if (next.status !== before.status) {
      if (FINISHED_STATUSES.includes(next.status)) next.finishedAt = now;
      else delete next.finishedAt;
    }
    r.header = next;
    const recorded = event ?? statusEvent(before, r.header);
    if (recorded) this.recordEvent(r, recorded);
    // A finished run takes no signal: what is still buffered (a misspelled name, one no step waited for) goes with it.
    if (changes.status !== undefined && FINISHED_STATUSES.includes(changes.status)) {
      r.signals.clear();
      r.expiresAt = this.expiryOf(r.header);
    }
  }

  /**
   * Records a cancel or pause for a running run without a new version: the
   * version fences workers from each other, and the worker holding the run
   * must still be able to reach its next boundary, where the request applies.
   */
  private request(r: Record_, requested: "cancel" | "pause" | null, event: NewRunEvent): void {
    r.header = { ...r.header, requested, updatedAt: this.clock.now() };
    this.recordEvent(r, event);
  }

  /** Adds an event to the run's history, dated now. */
  private recordEvent(r: Record_, event: NewRunEvent): void {
    appendEvent(r.history, { at: this.clock.now(), ...event });
  }

  /** Records the attempts a write carries as failed: each closes its record, with its event. */
  private recordFailures(r: Record_, failed: readonly FailedAttempt[]): void {
    for (const f of failed) {
      const { records, event } = recordFailure(r.tries.get(f.key) ?? [], f, this.clock.now());
      r.tries.set(f.key, records);
      appendEvent(r.history, event);
    }
  }

  /** Attempt `attempt` of step `key` ended well (its output commits, or a cancel drops it). */
  private endAttempt(r: Record_, key: string, attempt: number): void {
    r.tries.set(key, endedAttempt(r.tries.get(key) ?? [], attempt, this.clock.now(), null));
  }

  private notify(r: Record_): void {
    for (const listener of this.listeners) listener(r.header.id, r.header.status);
  }

  private view(r: Record_, withOutputs: boolean): StoredRun {
    return {
      header: r.header,
      input: r.input,
      outputs: withOutputs ? new Map(r.outputs) : new Map(),
      result: r.result,
      now: this.clock.now(),
    };
  }
}

/**
 * A wait's absolute deadline: kept from an earlier park of the same key, else now + the requested
 * delay, up to the next whole millisecond. The engine asks for what is left of a deadline by its own
 * clock, a fraction; a store keeps whole milliseconds, and a deadline cut down would hand the run
 * over before it is due (mirrored by resolveWait in the Redis store's waits.lua).
 */
export function resolveWait(request: WaitRequest, previous: readonly Wait[], now: number): Wait {
  const before = previous.find((w) => w.key === request.key && w.kind === request.kind);
  if (request.kind === "timer") {
    // A delay keeps the deadline it got when it first parked. A retry asks for
    // what is left of its backoff each time, since one step retries many times.
    const kept = request.reason === "delay" && before?.kind === "timer" && before.reason === "delay";
    const until = kept ? before.until : Math.ceil(now + request.delayMs);
    return { kind: "timer", key: request.key, reason: request.reason, until };
  }
  const timeoutAt = before?.kind === "signal" ? before.timeoutAt : request.timeoutMs === null ? null : Math.ceil(now + request.timeoutMs);
  return { kind: "signal", key: request.key, signal: request.signal, timeoutAt };
}

/** The earliest deadline among waits: when a parked run must next be looked at. */
export function earliestDeadline(waits: readonly Wait[]): number | null {
  const deadlines = waits.map((w) => (w.kind === "timer" ? w.until : w.timeoutAt)).filter((t): t is number => t !== null);
  return deadlines.length === 0 ? null : Math.min(...deadlines);
}

function stateError(h: RunHeader, what: string, expected: string): RunStateError {
  return new RunStateError(`cannot ${what} run "${h.id}": it is ${h.status} (${what} takes a run that is ${expected})`, {
    instanceId: h.id,
    status: h.status,
  });
}

function unknownStep(id: string, key: string): UnknownStepError {
  return new UnknownStepError(`run "${id}" has no committed step "${key}"`, { instanceId: id, step: key });
}
