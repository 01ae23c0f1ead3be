/**
 * `RedisStore`: the durable store on Redis. Each operation is one Lua script
 * over one run's keys (see `lua/`), so it is atomic, and all its times come
 * from Redis `TIME`. Operation by operation it behaves as `MemoryStore`, the
 * reference of what each one means.
 *
 * Failure semantics (for every write): a script runs entirely or not at all.
 * A reply lost to a dropped connection leaves the caller unsure whether the
 * write happened; re-sending the same commit answers `alreadyCommitted`, and
 * any other versioned write re-sent after it landed gets `StaleVersionError`
 * (reload and go on). A Redis failover or an AOF rollback can lose the last
 * writes acknowledged: a step whose commit was lost runs again, so tasks must
 * make their side effects idempotent (`ctx.idempotencyKey`).
 */
import {
  CodecError,
  DEFAULT_LIST_ORDER,
  DEFAULT_MAX_PAYLOAD_BYTES,
  decodeListCursor,
  encodeListCursor,
  ValidationError,
  integerInRange,
  compareForList,
  FINISHED_STATUSES,
  listPosition,
  listsByFinish,
  PayloadTooLargeError,
  RUN_STATUSES,
  ScheduleExistsError,
  StaleVersionError,
  UnknownScheduleError,
  type SchedulePage,
  type ScheduleState,
  type ScheduleWrite,
  type StoredSchedule,
  ClosedError,
  checkOptions,
  optionNames,
  resolveLogger,
  type AcquireResult,
  type AttemptRecord,
  type FailedAttempt,
  type RunEvent,
  type Logger,
  type CancelListener,
  type CommitResult,
  type CommitThen,
  type ControlResult,
  type CountQuery,
  type FinishListener,
  type PurgeBatch,
  type RetentionMs,
  type StepKeySet,
  type ListOrder,
  type ListPage,
  type ListPosition,
  type ListQuery,
  type NewRun,
  type ParkResult,
  type RunHeader,
  type RunLink,
  type RunStatus,
  type SerializedError,
  type SignalBuffer,
  type SignalResult,
  type SignalTarget,
  type StepProgress,
  type Store,
  type StoredRun,
  type TakeSignalResult,
  type TouchResult,
  type WaitRequest,
  type WriteResult,
} from "@parkway/core";
import { closeConnection, openConnection, type ConnectionOptions, type RedisConnection } from "./connection.js";
import { ConnectionWatch } from "./connection-errors.js";
import { Channel, parseCancel, parseFinished } from "./finish-channel.js";
import { keyLayout, partitionOf, type KeyLayout } from "./keys.js";
import {
  asArray,
  bytes,
  fields,
  maybeBytes,
  parseAttemptRecords,
  parseCommitOrder,
  parseHeader,
  parseHistory,
  parseLink,
  parseStoredRun,
  text,
} from "./replies.js";
import { scriptError, type ScriptCall } from "./script-errors.js";
import { RedisFlowControl } from "./flow-control.js";
import { SCRIPTS, runScript, type Script, type ScriptArg } from "./scripts.js";
import { checkAppendOnly, checkEvictionPolicy } from "./eviction.js";
import { assertNamespace, claimPartitions, partitionsOption } from "./namespace.js";

/** How to reach Redis and where in it to keep runs. */
export interface RedisStoreOptions {
  /**
   * A Redis URL or ioredis options (the store opens and closes its connection), or an ioredis
   * `Redis` or `Cluster` to share (never closed by the store).
   */
  readonly connection: ConnectionOptions;
  /** Keys live under the hash tag `{namespace}`, or `{namespace:p}` for partition `p`. Default `"parkway"`. */
  readonly namespace?: string;
  /**
   * How many partitions the namespace is split into (1 to 128, default 1), each its own hash tag, so
   * one namespace spreads over the masters of a Redis Cluster. Fixed when the namespace is first
   * used: every client and worker of a namespace must give the same count (a different one is a
   * `ValidationError` at its first operation).
   */
  readonly partitions?: number;
  /** Largest payload (input, output, signal, result) in bytes. Default 1 MiB. */
  readonly maxPayloadBytes?: number;
  /**
   * Told of configuration problems (an eviction policy other than `noeviction`; Redis without AOF, when
   * {@link RedisStore.checkPersistence} is called). Default: `logger.warn`.
   */
  readonly onWarning?: (message: string) => void;
  /** A pino-style logger: Redis outages of the connections the store opens, warnings. Silent by default. */
  readonly logger?: Logger;
}

const STORE_OPTIONS = optionNames<RedisStoreOptions>({
  connection: true,
  namespace: true,
  partitions: true,
  maxPayloadBytes: true,
  onWarning: true,
  logger: true,
});

/**
 * Most index members one `list` page with an id prefix (or a creation range given with a finish
 * range) looks at. Neither is an index: the page walks the filters' index in order and keeps the
 * runs that match, so a rare match among many runs takes several pages (each O(log n + this));
 * narrow it with a status, workflow or the range of the index's own time.
 */
const LIST_SCAN_BUDGET = 5_000;

/** How long a run remembers the delivery ids of its signals (a resent or retried `signal` within it delivers once). */
const DELIVERY_IDS_KEPT_MS = 24 * 3_600_000;

type Stopped = { readonly ok: false; readonly stopped: "cancelled" | "paused"; readonly version: number };

/** The Redis implementation of the {@link Store} contract. */
export class RedisStore implements Store {
  /** The key layout of each partition, for tools (the sweeper, tests) that read the indexes directly. */
  readonly layouts: readonly KeyLayout[];
  /** The key layout of partition 0: the whole namespace's when it has one partition (see {@link layoutOf}). */
  readonly keys: KeyLayout;
  readonly namespace: string;
  /** The connection scripts run on. */
  readonly redis: RedisConnection;
  /** Reports outages of the connections the store opens; a worker or client adds its own connections to it. */
  readonly connectionWatch: ConnectionWatch;
  private readonly ownsConnection: boolean;
  private readonly maxPayloadBytes: number;
  private readonly onWarning: (message: string) => void;
  private readonly finishes: Channel<[string, RunStatus]>;
  private readonly cancels: Channel<[string]>;
  /** Concurrency and rate limits, each under a hash tag of its own (see flow-control.ts). */
  readonly flowControl: RedisFlowControl;
  private policyChecked: Promise<void> | null = null;
  private partitionsClaimed: Promise<void> | null = null;
  private persistenceChecked: Promise<void> | null = null;
  private closed = false;

  constructor(options: RedisStoreOptions) {
    checkOptions("RedisStore", options, STORE_OPTIONS);
    const namespace = options.namespace ?? "parkway";
    assertNamespace(namespace);
    const partitions = partitionsOption(options.partitions);
    this.namespace = namespace;
    this.layouts = Array.from({ length: partitions }, (_, p) => keyLayout(namespace, p, partitions));
    this.keys = this.layouts[0]!;
    const logger = resolveLogger(options.logger, "RedisStore");
    const { redis, owned } = openConnection(options.connection, "RedisStore");
    this.redis = redis;
    this.ownsConnection = owned;
    this.maxPayloadBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
    this.onWarning = options.onWarning ?? ((message) => logger.warn(message));
    this.connectionWatch = new ConnectionWatch(logger);
    if (owned) this.connectionWatch.watch(redis);
    const channels = (name: "finished" | "cancels") => this.layouts.map((k) => k[name]);
    this.finishes = new Channel(redis, channels("finished"), parseFinished, this.onWarning, this.connectionWatch);
    this.cancels = new Channel(redis, channels("cancels"), parseCancel, this.onWarning, this.connectionWatch);
    this.flowControl = new RedisFlowControl(redis, namespace, (id) => this.layoutOf(id));
  }

  /** How many partitions the namespace has. */
  get partitions(): number {
    return this.layouts.length;
  }

  /** The key layout of run `id`'s partition ({@link partitionOf}). */
  layoutOf(id: string): KeyLayout {
    return this.layouts[partitionOf(id, this.layouts.length)]!;
  }

  /**
   * Fixes the namespace's partition count at this store's when it is first used, and checks it
   * (once per store; every operation awaits it). A worker calls it when it starts.
   * @throws ValidationError naming both counts when the namespace has another
   */
  checkPartitions(): Promise<void> {
    const claim = (this.partitionsClaimed ??= claimPartitions(this.redis, this.namespace, this.partitions));
    // A refused count stays refused; a failed attempt (Redis away) is tried again by the next operation.
    claim.catch((error: unknown) => {
      if (!(error instanceof ValidationError) && this.partitionsClaimed === claim) this.partitionsClaimed = null;
    });
    return claim;
  }

  /** @inheritdoc */
  async start(run: NewRun): Promise<{ readonly created: boolean; readonly header: RunHeader }> {
    this.checkSize(run.input, `input of run "${run.id}"`, run.id);
    const k = this.layoutOf(run.id);
    const keys = [k.header(run.id), k.outputs(run.id), k.due, k.status("pending")];
    const reply = await this.run(SCRIPTS.startRun, keys, [k.prefix, ...newRunArgs(run)], { id: run.id, what: "start" });
    return { created: reply[1] === 1, header: parseHeader(run.id, reply[2]) };
  }

  /** @inheritdoc */
  async signalWithStart(
    run: NewRun,
    name: string,
    payload: Uint8Array,
    deliveryId?: string,
  ): Promise<{ readonly created: boolean; readonly header: RunHeader; readonly signal: SignalResult | null }> {
    this.checkSize(run.input, `input of run "${run.id}"`, run.id);
    this.checkSize(payload, `signal "${name}" to run "${run.id}"`, run.id);
    const k = this.layoutOf(run.id);
    const keys = [k.header(run.id), k.signals(run.id, name), k.deliveries(run.id)];
    const args = [k.prefix, ...newRunArgs(run), name, payload, deliveryId ?? "", DELIVERY_IDS_KEPT_MS];
    const reply = await this.run(SCRIPTS.signalWithStart, keys, args, { id: run.id, what: `signal "${name}" with start` });
    const header = parseHeader(run.id, reply[2]);
    if (reply[3] === null || reply[3] === undefined) return { created: false, header, signal: null };
    const delivered = asArray(reply[3]);
    return {
      created: reply[1] === 1,
      header,
      signal: {
        delivered: text(delivered[1]) === "woke" ? "woke" : "buffered",
        dueAt: nullableNumber(delivered[2]),
        version: Number(delivered[3]),
      },
    };
  }

  /** @inheritdoc */
  async acquire(id: string, leaseMs: number): Promise<AcquireResult> {
    const k = this.layoutOf(id);
    const keys = [k.header(id), k.outputs(id), k.due];
    const reply = await this.run(SCRIPTS.acquireRun, keys, [k.prefix, id, leaseMs], { id, what: "acquire" });
    const outcome = text(reply[1]);
    if (outcome === "acquired") return { acquired: true, run: parseStoredRun(id, reply.slice(2)) };
    if (outcome === "cancelled") return { acquired: false, reason: outcome, header: parseHeader(id, reply[2]) };
    if (outcome === "busy" || outcome === "not-due")
      return { acquired: false, reason: outcome, dueAt: nullableNumber(reply[2]), now: Number(reply[3]) };
    return { acquired: false, reason: outcome as "finished" | "paused" };
  }

  /** @inheritdoc */
  async touch(id: string, version: number, leaseMs: number, failed: readonly FailedAttempt[] = []): Promise<TouchResult> {
    const k = this.layoutOf(id);
    const reply = await this.run(SCRIPTS.touchRun, [k.header(id), k.due], [k.prefix, id, version, leaseMs, failedArg(failed)], {
      id,
      version,
      what: "touch",
    });
    const requested = text(reply[1]);
    return { requested: requested === "cancel" || requested === "pause" ? requested : null };
  }

  /** @inheritdoc */
  async heartbeat(id: string, version: number, key: string, details: Uint8Array, leaseMs: number): Promise<TouchResult> {
    const k = this.layoutOf(id);
    const keys = [k.header(id), k.due, k.progress(id)];
    const reply = await this.run(SCRIPTS.heartbeatRun, keys, [k.prefix, id, version, leaseMs, key, details], {
      id,
      version,
      what: `heartbeat of "${key}"`,
    });
    const requested = text(reply[1]);
    return { requested: requested === "cancel" || requested === "pause" ? requested : null };
  }

  /** @inheritdoc A plain read of the run's progress hash (details as bytes, `#at:<key>` its time). */
  async progress(id: string): Promise<ReadonlyMap<string, StepProgress>> {
    if (this.closed) throw closedError();
    const fields = await this.redis.hgetallBuffer(this.layoutOf(id).progress(id));
    const progress = new Map<string, StepProgress>();
    for (const [field, value] of Object.entries(fields)) {
      if (field.startsWith("#at:")) continue;
      const at = Number(fields[`#at:${field}`]?.toString() ?? Number.NaN);
      progress.set(field, { details: new Uint8Array(value), at: Number.isFinite(at) ? at : 0 });
    }
    return progress;
  }

  /** @inheritdoc The record fields of the run's outputs hash (`lua/includes/attempts.lua` writes them), read by a script. */
  async attemptRecords(id: string): Promise<ReadonlyMap<string, readonly AttemptRecord[]>> {
    const k = this.layoutOf(id);
    const keys = [k.outputs(id), k.oldAttemptRecords(id)];
    const reply = await this.run(SCRIPTS.getAttemptRecords, keys, [], { id, what: "read attempt records" });
    return parseAttemptRecords(id, reply[1]);
  }

  /** @inheritdoc One MULTI: whether the header exists, and the `hist:` list. */
  async history(id: string): Promise<readonly RunEvent[] | null> {
    if (this.closed) throw closedError();
    const k = this.layoutOf(id);
    const replies = (await this.redis.multi().exists(k.header(id)).lrange(k.history(id), 0, -1).exec()) ?? [];
    for (const [error] of replies) if (error) throw error;
    if (replies[0]?.[1] !== 1) return null;
    return parseHistory(id, replies[1]?.[1] as string[]);
  }

  /**
   * @inheritdoc
   * One script (`signalBuffers-1.lua`) over the run's `signames:` set and the buffers it names:
   * sending and taking signals write nothing for this read.
   */
  async signalBuffers(id: string, limit: number, previewBytes: number): Promise<readonly SignalBuffer[]> {
    const k = this.layoutOf(id);
    const reply = await this.run(SCRIPTS.signalBuffers, [k.signalNames(id)], [k.prefix, id, limit, previewBytes], {
      id,
      what: "read buffered signals",
    });
    return reply.slice(1).map((entry) => {
      const [name, count, oldest] = asArray(entry);
      return {
        name: text(name),
        count: Number(count),
        oldest: asArray(oldest).map((signal) => {
          const [size, payload] = asArray(signal);
          return { bytes: Number(size), payload: maybeBytes(payload) };
        }),
      };
    });
  }

  /** @inheritdoc Read from the run's header, whose `a:` fields hold the version each commit made. */
  async commitOrder(id: string): Promise<readonly string[]> {
    if (this.closed) throw closedError();
    return parseCommitOrder(Object.entries(await this.redis.hgetallBuffer(this.layoutOf(id).header(id))).flat());
  }

  /** @inheritdoc */
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
    this.checkSize(output, `output of step "${key}" of run "${id}"`, id);
    if (then !== undefined && "complete" in then) this.checkSize(then.complete, `result of run "${id}"`, id);
    const k = this.layoutOf(id);
    const keys = [k.header(id), k.outputs(id), k.due];
    const args = [k.prefix, id, version, key, output, attempts, leaseMs, failedArg(failed), ...thenArgs(then), ...replaces];
    const reply = await this.run(SCRIPTS.commitStep, keys, args, {
      id,
      version,
      what: `commit "${key}"`,
    });
    if (reply[0] === 1) return stopped(reply);
    const newVersion = Number(reply[2]);
    return text(reply[1]) === "already" ? { ok: true, alreadyCommitted: true, version: newVersion } : { ok: true, version: newVersion };
  }

  /** @inheritdoc */
  async startAttempt(
    id: string,
    version: number,
    key: string,
    attempt: number,
    leaseMs: number,
    failed: readonly FailedAttempt[] = [],
  ): Promise<TouchResult> {
    const k = this.layoutOf(id);
    const reply = await this.run(
      SCRIPTS.startAttempt,
      [k.header(id), k.due],
      [k.prefix, id, version, key, attempt, leaseMs, failedArg(failed)],
      {
        id,
        version,
        what: `start attempt ${attempt} of "${key}"`,
      },
    );
    const requested = text(reply[1]);
    return { requested: requested === "cancel" || requested === "pause" ? requested : null };
  }

  /** @inheritdoc */
  async restart(run: NewRun): Promise<{ readonly replaced: boolean; readonly header: RunHeader }> {
    this.checkSize(run.input, `input of run "${run.id}"`, run.id);
    const k = this.layoutOf(run.id);
    const signals = JSON.stringify(run.signals ?? null);
    const args = [k.prefix, run.id, run.workflow, run.hash, run.input, signals];
    const reply = await this.run(SCRIPTS.restartRun, this.runKeys(run.id), args, { id: run.id, what: "restart" });
    return { replaced: reply[1] === 1, header: parseHeader(run.id, reply[2]) };
  }

  /** @inheritdoc */
  async retry(id: string): Promise<ControlResult> {
    const reply = await this.run(SCRIPTS.retryRun, this.runKeys(id), [this.layoutOf(id).prefix, id], { id, what: "retry" });
    return { status: text(reply[1]) as RunStatus, version: Number(reply[2]), immediate: true };
  }

  /** @inheritdoc */
  async rewind(id: string, to: string, drop: StepKeySet): Promise<ControlResult> {
    const args = [this.layoutOf(id).prefix, id, to, jsonArray(drop.refs), jsonArray(drop.loops)];
    const reply = await this.run(SCRIPTS.rewindRun, this.runKeys(id), args, { id, what: `rewind to "${to}"` });
    return { status: text(reply[1]) as RunStatus, version: Number(reply[2]), immediate: true };
  }

  /** @inheritdoc */
  async migrate(
    id: string,
    hash: string,
    keys: StepKeySet,
    renames: Readonly<Record<string, string>>,
    signals?: readonly string[],
  ): Promise<ControlResult> {
    const prefix = this.layoutOf(id).prefix;
    const args = [prefix, id, hash, jsonArray(keys.refs), jsonArray(keys.loops), JSON.stringify(renames), JSON.stringify(signals ?? null)];
    const reply = await this.run(SCRIPTS.migrateRun, this.runKeys(id), args, { id, what: "migrate" });
    return { status: text(reply[1]) as RunStatus, version: Number(reply[2]), immediate: true };
  }

  /** @inheritdoc */
  async delete(id: string): Promise<void> {
    const k = this.layoutOf(id);
    await this.run(SCRIPTS.deleteRun, [k.header(id)], [k.prefix, id], { id, what: "delete" });
  }

  /**
   * @inheritdoc
   * Partition by partition: the position is `offset * partitions + partition`, so one batch is
   * one script in one partition and the walk moves to the next partition when one is done.
   */
  async purge(batch: PurgeBatch): Promise<{ readonly deleted: number; readonly next: number | null }> {
    const partition = batch.offset % this.partitions;
    const k = this.layouts[partition]!;
    const index = batch.workflow === undefined ? k.status(batch.status) : k.workflowStatus(batch.workflow, batch.status);
    const offset = Math.floor(batch.offset / this.partitions);
    const args = [k.prefix, batch.status, batch.finishedBefore ?? "", offset, batch.limit, batch.workflow ?? ""];
    const reply = await this.run(SCRIPTS.purgeRuns, [index], args, { id: "", what: "purge" });
    const next = Number(reply[2]);
    const position = next >= 0 ? next * this.partitions + partition : partition + 1 < this.partitions ? partition + 1 : null;
    return { deleted: Number(reply[1]), next: position };
  }

  /**
   * @inheritdoc
   * Kept in the hash `{ns}:retention` of every partition, which the finish path of every script
   * reads in the run's own partition.
   */
  async setRetention(workflow: string | null, retention: RetentionMs): Promise<void> {
    if (this.closed) throw closedError();
    await this.checkPartitions();
    const set: string[] = [];
    const unset: string[] = [];
    for (const status of ["completed", "failed", "cancelled"] as const) {
      const field = workflow === null ? status : `${status}:${workflow}`;
      const ms = retention[status];
      if (ms === undefined) unset.push(field);
      else set.push(field, ms === null ? "forever" : String(ms));
    }
    // A MULTI is one slot: one per partition.
    await Promise.all(
      this.layouts.map(async (k) => {
        const multi = this.redis.multi();
        if (unset.length > 0) multi.hdel(k.retention, ...unset);
        if (set.length > 0) multi.hset(k.retention, ...set);
        const replies = (await multi.exec()) ?? [];
        for (const [error] of replies) if (error) throw error;
      }),
    );
  }

  /** @inheritdoc Trims every partition ({@link trimExpiredIn}); `limit` bounds each. */
  async trimExpired(limit: number): Promise<{ readonly trimmed: number; readonly nextAt: number | null }> {
    const all = await Promise.all(this.layouts.map((_, p) => this.trimExpiredIn(p, limit)));
    const next = all.flatMap((one) => (one.nextAt === null ? [] : [one.nextAt]));
    return { trimmed: all.reduce((sum, one) => sum + one.trimmed, 0), nextAt: next.length === 0 ? null : Math.min(...next) };
  }

  /** {@link trimExpired} of one partition: what a worker's sweep runs, partition by partition. */
  async trimExpiredIn(partition: number, limit: number): Promise<{ readonly trimmed: number; readonly nextAt: number | null }> {
    const k = this.partitionLayout(partition);
    const reply = await this.run(SCRIPTS.trimExpired, [k.expiring], [k.prefix, limit], { id: "", what: "trim expired runs" });
    return { trimmed: Number(reply[1]), nextAt: nullableNumber(reply[2]) };
  }

  /** @inheritdoc */
  async takeSignal(
    id: string,
    version: number,
    key: string,
    signal: string,
    fallback: Uint8Array | null,
    leaseMs: number,
  ): Promise<TakeSignalResult> {
    if (fallback !== null) this.checkSize(fallback, `timeout value of step "${key}" of run "${id}"`, id);
    const k = this.layoutOf(id);
    const keys = [k.header(id), k.outputs(id), k.due, k.signals(id, signal)];
    const args = [k.prefix, id, version, key, fallback === null ? "0" : "1", fallback ?? "", leaseMs];
    const reply = await this.run(SCRIPTS.takeSignal, keys, args, { id, version, what: `take signal "${signal}"` });
    if (reply[0] === 1) return stopped(reply);
    const outcome = text(reply[1]);
    if (outcome === "signal") return { outcome: "signal", version: Number(reply[2]), payload: bytes(reply[3]) };
    if (outcome === "timeout") return { outcome: "timeout", version: Number(reply[2]), committed: reply[3] === 1 };
    return { outcome: "none" };
  }

  /** @inheritdoc */
  async park(
    id: string,
    version: number,
    waits: readonly WaitRequest[],
    attempts: Readonly<Record<string, number>>,
    failed: readonly FailedAttempt[] = [],
  ): Promise<ParkResult> {
    const k = this.layoutOf(id);
    const signalKeys = waits.flatMap((w) => (w.kind === "signal" ? [k.signals(id, w.signal)] : []));
    const keys = [k.header(id), k.due, ...signalKeys];
    const args = [k.prefix, id, version, JSON.stringify(waits), JSON.stringify(attempts), failedArg(failed)];
    const reply = await this.run(SCRIPTS.parkRun, keys, args, { id, version, what: "park" });
    if (reply[0] === 1) {
      const { stopped: how, version: at } = stopped(reply);
      return { outcome: "stopped", stopped: how, version: at };
    }
    const outcome = text(reply[1]);
    if (outcome === "signalled") return { outcome: "signalled", version: Number(reply[2]) };
    return { outcome: "parked", version: Number(reply[2]), dueAt: nullableNumber(reply[3]) };
  }

  /** @inheritdoc */
  async finish(
    id: string,
    version: number,
    end: { readonly status: "completed"; readonly result: Uint8Array } | { readonly status: "failed"; readonly error: SerializedError },
    failed: readonly FailedAttempt[] = [],
  ): Promise<WriteResult> {
    if (end.status === "completed") this.checkSize(end.result, `result of run "${id}"`, id);
    const k = this.layoutOf(id);
    const value = end.status === "completed" ? end.result : JSON.stringify(end.error);
    const args = [k.prefix, id, version, end.status, value, failedArg(failed)];
    const reply = await this.run(SCRIPTS.finishRun, [k.header(id), k.outputs(id), k.due], args, {
      id,
      version,
      what: "finish",
    });
    if (reply[0] === 1) return stopped(reply);
    return { ok: true, version: Number(reply[2]) };
  }

  /** @inheritdoc */
  async block(id: string, version: number, error: SerializedError, retryAfterMs: number): Promise<void> {
    const k = this.layoutOf(id);
    await this.run(SCRIPTS.blockRun, [k.header(id), k.due], [k.prefix, id, version, JSON.stringify(error), retryAfterMs], {
      id,
      version,
      what: "block",
    });
  }

  /** @inheritdoc */
  async signal(id: string, name: string, payload: Uint8Array, deliveryId?: string): Promise<SignalResult> {
    this.checkSize(payload, `signal "${name}" to run "${id}"`, id);
    const k = this.layoutOf(id);
    const keys = [k.header(id), k.signals(id, name), k.due, k.deliveries(id)];
    const args = [k.prefix, id, name, payload, deliveryId ?? "", DELIVERY_IDS_KEPT_MS];
    const reply = await this.run(SCRIPTS.signalRun, keys, args, { id, what: `signal "${name}"` });
    return { delivered: text(reply[1]) === "woke" ? "woke" : "buffered", dueAt: nullableNumber(reply[2]), version: Number(reply[3]) };
  }

  /** @inheritdoc */
  cancel(id: string): Promise<ControlResult> {
    return this.control(SCRIPTS.cancelRun, id, "cancel");
  }

  /** @inheritdoc */
  pause(id: string): Promise<ControlResult> {
    return this.control(SCRIPTS.pauseRun, id, "pause");
  }

  /** @inheritdoc */
  resume(id: string): Promise<ControlResult> {
    return this.control(SCRIPTS.resumeRun, id, "resume");
  }

  /** @inheritdoc */
  async get(id: string, options: { readonly outputs?: boolean } = {}): Promise<StoredRun | null> {
    const k = this.layoutOf(id);
    const keys = [k.header(id), k.outputs(id)];
    const reply = await this.run(SCRIPTS.getRun, keys, [options.outputs === false ? "0" : "1"], { id, what: "get" });
    return text(reply[1]) === "found" ? parseStoredRun(id, reply.slice(2)) : null;
  }

  /**
   * @inheritdoc
   * In each partition, `listRuns` walks the indexes the query names ({@link listIndexes}) together,
   * merged in list order, and the partitions' pages are merged in the same order. That order is
   * total and every run is in one index, so the last run of a page is where every index's next
   * page starts: the cursor stays one position, the format every store writes, checked whole by
   * `decodeListCursor`.
   */
  async list(query: ListQuery): Promise<ListPage> {
    const limit = query.limit ?? 100;
    const order = query.order ?? DEFAULT_LIST_ORDER;
    const after = query.cursor === undefined ? null : decodeListCursor(query.cursor);
    const byFinish = listsByFinish(query);
    const pages = await Promise.all(
      this.layouts.flatMap((k) => {
        const indexes = listIndexes(k, query);
        // A live status with a finish range names no index: no run matches.
        return indexes.length > 0 ? [this.listIn(k, indexes, query, after, limit, order)] : [];
      }),
    );
    // The nearest point any walk stopped looking at: past it, an index may hold runs this page has not seen.
    const byOrder = (a: ListPosition, b: ListPosition) => compareForList(a, b, order);
    const frontier = pages.flatMap((page) => (page.frontier ? [page.frontier] : [])).sort(byOrder)[0] ?? null;
    const merged = pages
      .flatMap((page) => page.runs)
      .filter((run) => frontier === null || byOrder(listPosition(run, byFinish), frontier) <= 0)
      .sort((a, b) => byOrder(listPosition(a, byFinish), listPosition(b, byFinish)));
    const runs = merged.slice(0, limit);
    const last = runs[runs.length - 1];
    const next = merged.length > limit && last ? listPosition(last, byFinish) : frontier;
    return { runs, cursor: next ? encodeListCursor(next) : null };
  }

  /** One partition's page: at most `limit` runs after `after`, and where the walk stopped when it may have more. */
  private async listIn(
    k: KeyLayout,
    indexes: readonly ListIndex[],
    query: ListQuery,
    after: ListPosition | null,
    limit: number,
    order: ListOrder,
  ): Promise<{ runs: RunHeader[]; frontier: ListPosition | null }> {
    const byFinish = listsByFinish(query);
    const [low, high] = scoreRange(query, after, order);
    // A creation range on a finish index filters the walk, as an id prefix does: both look at a bounded number of runs.
    const created = byFinish ? [query.createdAfter ?? "", query.createdBefore ?? ""] : ["", ""];
    const filtered = query.idPrefix !== undefined || created.some((bound) => bound !== "");
    const cursorArgs = [after ? "1" : "0", after?.at ?? 0, after?.id ?? ""];
    const budget = filtered ? LIST_SCAN_BUDGET : 0;
    const args = [k.prefix, ...cursorArgs, limit, query.workflow ?? "", order, low, high, budget, query.idPrefix ?? "", ...created];
    const keys = indexes.map((index) => index.key);
    const statuses = indexes.map((index) => index.status);
    const reply = await this.run(SCRIPTS.listRuns, keys, [...args, ...statuses], { id: "", what: "list runs" });
    const runs = reply.slice(3).map((entry) => {
      const [id, header] = asArray(entry);
      return parseHeader(text(id), header);
    });
    // The walk stopped at its bound: it looked as far as that run, matched or not.
    if (Array.isArray(reply[2])) {
      const [at, id] = reply[2] as unknown[];
      return { runs, frontier: { at: Number(text(at)), id: text(id) } };
    }
    const last = runs[runs.length - 1];
    return { runs, frontier: reply[1] === 1 && last ? listPosition(last, byFinish) : null };
  }

  /**
   * @inheritdoc
   * One MULTI: `HMGET` of the header's workflow, hash, status and recorded names, and `HGET` of the
   * delivery id, so the check costs one round trip.
   */
  async signalTarget(id: string, deliveryId?: string): Promise<SignalTarget | null> {
    if (this.closed) throw closedError();
    const k = this.layoutOf(id);
    const multi = this.redis.multi().hmget(k.header(id), "workflow", "hash", "status", "signals");
    if (deliveryId !== undefined) multi.hget(k.deliveries(id), deliveryId);
    const replies = (await multi.exec()) ?? [];
    for (const [error] of replies) if (error) throw error;
    const [workflow, hash, status, signals] = (replies[0]?.[1] ?? []) as (string | null)[];
    if (workflow == null || hash == null || status == null) return null;
    const delivered = replies[1]?.[1];
    return {
      workflow,
      hash,
      status: status as RunStatus,
      names: parseSignalNames(id, signals ?? null),
      delivered: delivered === "woke" || delivered === "buffered" ? delivered : null,
    };
  }

  /**
   * @inheritdoc
   * One MULTI of `ZCARD` per status index, or per status index of the workflow (O(1) each), so
   * the counts are of one instant (of one instant per partition, summed, when there are several).
   */
  async counts(query: CountQuery = {}): Promise<Record<RunStatus, number>> {
    if (this.closed) throw closedError();
    await this.checkPartitions();
    const counts = Object.fromEntries(RUN_STATUSES.map((status) => [status, 0])) as Record<RunStatus, number>;
    // A MULTI is one slot: one per partition.
    await Promise.all(
      this.layouts.map(async (k) => {
        const multi = this.redis.multi();
        for (const status of RUN_STATUSES) {
          multi.zcard(query.workflow === undefined ? k.status(status) : k.workflowStatus(query.workflow, status));
        }
        const replies = (await multi.exec()) ?? [];
        RUN_STATUSES.forEach((status, i) => {
          const [error, n] = replies[i] ?? [new Error("no reply")];
          if (error) throw error;
          counts[status] += Number(n);
        });
      }),
    );
    return counts;
  }

  /**
   * @inheritdoc
   * Reads every partition's due index: up to `limit` ids from each, at most `limit` in all.
   */
  async due(
    limit: number,
    graceMs = 0,
  ): Promise<{ readonly ids: readonly string[]; readonly nextDueAt: number | null; readonly now: number }> {
    const all = await Promise.all(this.layouts.map((_, p) => this.dueIn(p, limit, graceMs)));
    const next = all.flatMap((one) => (one.nextDueAt === null ? [] : [one.nextDueAt]));
    return {
      ids: all.flatMap((one) => one.ids).slice(0, limit),
      nextDueAt: next.length === 0 ? null : Math.min(...next),
      now: Math.max(...all.map((one) => one.now)),
    };
  }

  /** {@link due} of one partition: what a worker's sweeper reads, partition by partition. */
  async dueIn(
    partition: number,
    limit: number,
    graceMs = 0,
  ): Promise<{ readonly ids: readonly string[]; readonly nextDueAt: number | null; readonly now: number }> {
    const k = this.partitionLayout(partition);
    const reply = await this.run(SCRIPTS.dueRuns, [k.due, k.timers], [limit, graceMs], { id: "", what: "read due runs" });
    return { ids: asArray(reply[1]).map(text), nextDueAt: nullableNumber(reply[2]), now: Number(reply[3]) };
  }

  /**
   * Takes up to `limit` of partition `partition`'s far timers (see `TIMER_HORIZON_MS` in keys.ts) that
   * fall due within `windowMs`, moving them from its timers index to its due index: the caller adds their wake-up
   * jobs. Each is taken once, whoever asks.
   */
  async promoteTimersIn(
    partition: number,
    windowMs: number,
    limit: number,
  ): Promise<{ readonly timers: readonly { readonly id: string; readonly dueAt: number }[]; readonly now: number }> {
    const k = this.partitionLayout(partition);
    integerInRange(windowMs, "windowMs", 0, 0, MAX_TIMER_WINDOW_MS);
    integerInRange(limit, "limit", 1, 1, 100_000);
    const reply = await this.run(SCRIPTS.promoteTimers, [k.timers, k.due], [windowMs, limit], { id: "", what: "take far timers" });
    const flat = asArray(reply[1]);
    const timers: { id: string; dueAt: number }[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) timers.push({ id: text(flat[i]), dueAt: Number(text(flat[i + 1])) });
    return { timers, now: Number(reply[2]) };
  }

  /**
   * @inheritdoc
   * Listeners hear of runs finished after this resolves, by any process
   * sharing the namespace. Pub/sub is at most once: a listener that must not
   * miss an end (a disconnect) should also poll `get`.
   */
  onFinish(listener: FinishListener): Promise<() => Promise<void>> {
    if (this.closed) return Promise.reject(closedError());
    return this.finishes.add(listener);
  }

  /**
   * Warns through `onWarning`, once per store, when Redis keeps no append-only file (`appendonly no`):
   * a Redis restart then loses what was written since its last snapshot. Workers call it when they
   * start. Says nothing when Redis refuses CONFIG (managed Redis), and never throws.
   */
  checkPersistence(): Promise<void> {
    return (this.persistenceChecked ??= checkAppendOnly(this.redis, this.onWarning));
  }

  /**
   * @inheritdoc
   * Listeners hear of cancels asked after this resolves, by any process
   * sharing the namespace; at most once, which is why `touch` answers them too.
   */
  onCancel(listener: CancelListener, onGap?: () => void): Promise<() => Promise<void>> {
    if (this.closed) return Promise.reject(closedError());
    return this.cancels.add(listener, onGap);
  }

  /** @inheritdoc */
  async putSchedule(write: ScheduleWrite): Promise<{ readonly version: number; readonly dueAt: number | null; readonly now: number }> {
    if (write.input !== null) this.checkSize(write.input, `input of schedule "${write.id}"`, write.id);
    const k = this.layoutOf(write.id);
    const due = "leaseMs" in write.due ? ["lease", write.due.leaseMs] : ["at", write.due.at ?? ""];
    const args = [write.id, write.version, JSON.stringify(write.state), write.input === null ? "0" : "1", write.input ?? "", ...due];
    const reply = await this.scheduleScript(SCRIPTS.putSchedule, [k.schedule(write.id), k.scheduleDue, k.schedules], args, write);
    return { version: Number(reply[1]), dueAt: nullableNumber(reply[2]), now: Number(reply[3]) };
  }

  /** @inheritdoc */
  async getSchedule(id: string): Promise<StoredSchedule | null> {
    const reply = await this.scheduleScript(SCRIPTS.getSchedule, [this.layoutOf(id).schedule(id)], [], { id, version: 0 });
    return parseSchedule(id, reply[1], Number(reply[2]));
  }

  /**
   * @inheritdoc
   * Each partition answers a page after the cursor; the pages are merged in id order, so the
   * last id of a page is where every partition's next page starts.
   */
  async listSchedules(query: { readonly limit: number; readonly cursor?: string }): Promise<SchedulePage> {
    const pages = await Promise.all(
      this.layouts.map(async (k) => {
        const reply = await this.scheduleScript(SCRIPTS.listSchedules, [k.schedules], [k.prefix, query.cursor ?? "", query.limit], {
          id: "",
          version: 0,
        });
        const now = Number(reply[2]);
        const schedules = reply.slice(3).map((entry) => {
          const [id, fields] = asArray(entry);
          return parseSchedule(text(id), fields, now);
        });
        return { more: reply[1] === 1, schedules: schedules.filter((s) => s !== null) };
      }),
    );
    const merged = pages.flatMap((p) => p.schedules).sort((a, b) => Buffer.compare(Buffer.from(a.id), Buffer.from(b.id)));
    const schedules = merged.slice(0, query.limit);
    const more = merged.length > query.limit || pages.some((p) => p.more);
    return { schedules, cursor: more && schedules.length > 0 ? schedules[schedules.length - 1]!.id : null };
  }

  /** @inheritdoc */
  async deleteSchedule(id: string): Promise<boolean> {
    const k = this.layoutOf(id);
    const reply = await this.scheduleScript(SCRIPTS.deleteSchedule, [k.schedule(id), k.scheduleDue, k.schedules], [id], { id, version: 0 });
    return reply[1] === 1;
  }

  /** @inheritdoc */
  async dueSchedules(limit: number): Promise<{ readonly ids: readonly string[]; readonly nextDueAt: number | null; readonly now: number }> {
    const all = await Promise.all(this.layouts.map((_, p) => this.dueSchedulesIn(p, limit)));
    const next = all.flatMap((one) => (one.nextDueAt === null ? [] : [one.nextDueAt]));
    return {
      ids: all.flatMap((one) => one.ids).slice(0, limit),
      nextDueAt: next.length === 0 ? null : Math.min(...next),
      now: Math.max(...all.map((one) => one.now)),
    };
  }

  /** {@link dueSchedules} of one partition: what a worker's sweeper reads, partition by partition. */
  async dueSchedulesIn(
    partition: number,
    limit: number,
  ): Promise<{ readonly ids: readonly string[]; readonly nextDueAt: number | null; readonly now: number }> {
    const k = this.partitionLayout(partition);
    const reply = await this.run(SCRIPTS.dueRuns, [k.scheduleDue], [limit, 0], { id: "", what: "read due schedules" });
    return { ids: asArray(reply[1]).map(text), nextDueAt: nullableNumber(reply[2]), now: Number(reply[3]) };
  }

  /** Runs a schedule script, turning its error replies into the schedule errors. */
  private async scheduleScript(
    script: Script,
    keys: readonly string[],
    args: readonly ScriptArg[],
    call: { readonly id: string; readonly version: number },
  ): Promise<unknown[]> {
    if (this.closed) throw closedError();
    await (this.policyChecked ??= checkEvictionPolicy(this.redis, this.onWarning));
    await this.checkPartitions();
    const reply = asArray(await runScript(this.redis, script, keys, args));
    const code = Number(reply[0]);
    const context = { scheduleId: call.id };
    if (code === -1) throw new UnknownScheduleError(`no schedule with id "${call.id}"`, context);
    if (code === -5) throw new ScheduleExistsError(`schedule "${call.id}" exists`, context);
    if (code === -2) {
      throw new StaleVersionError(`schedule "${call.id}" is at version ${Number(reply[1])}, not ${call.version}`, {
        ...context,
        expected: call.version,
        actual: Number(reply[1]),
      });
    }
    return reply;
  }

  /** Quits the subscribers and, when the store opened it, the connection. A shared connection stays open. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([this.finishes.close(), this.cancels.close()]);
    if (this.ownsConnection) await closeConnection(this.redis);
  }

  /** @inheritdoc */
  async linkParent(id: string, parent: RunLink): Promise<RunLink> {
    const k = this.layoutOf(id);
    const link = JSON.stringify({ id: parent.id, key: parent.key });
    const reply = await this.run(SCRIPTS.linkRun, [k.header(id)], ["parent", link], { id, what: "link a child run to its parent" });
    try {
      return parseLink(id, JSON.parse(text(reply[1])));
    } catch {
      throw new CodecError(`the stored header of run "${id}" is corrupted: field "parent" is not a run link`, { instanceId: id });
    }
  }

  /** @inheritdoc */
  async linkChild(id: string, key: string, childId: string): Promise<void> {
    const k = this.layoutOf(id);
    await this.run(SCRIPTS.linkRun, [k.header(id)], ["child", key, childId], { id, what: "link a parent run to its child" });
  }

  /** The key layout of partition `partition`, checked: an integer from 0 to the partition count less one. */
  private partitionLayout(partition: number): KeyLayout {
    const k = this.layouts[partition];
    if (!k) throw new ValidationError(`partition must be an integer from 0 to ${this.partitions - 1}, got ${String(partition)}`);
    return k;
  }

  /** The keys the run-lifecycle scripts take: header, outputs (with input and result), due index. */
  private runKeys(id: string): string[] {
    const k = this.layoutOf(id);
    return [k.header(id), k.outputs(id), k.due];
  }

  private async control(script: Script, id: string, what: string): Promise<ControlResult> {
    const k = this.layoutOf(id);
    const reply = await this.run(script, [k.header(id), k.due], [k.prefix, id], { id, what });
    return { status: text(reply[1]) as RunStatus, version: Number(reply[3]), immediate: reply[2] === 1 };
  }

  /** Runs a script and turns an error reply into its typed error. */
  private async run(script: Script, keys: readonly string[], args: readonly ScriptArg[], call: ScriptCall): Promise<unknown[]> {
    if (this.closed) throw closedError();
    await (this.policyChecked ??= checkEvictionPolicy(this.redis, this.onWarning));
    await this.checkPartitions();
    const reply = asArray(await runScript(this.redis, script, keys, args));
    const code = Number(reply[0]);
    if (code < 0)
      throw scriptError(code, reply[1] === undefined ? undefined : typeof reply[1] === "number" ? reply[1] : text(reply[1]), call);
    return reply;
  }

  /** Rejects a payload over the limit before anything is sent. */
  private checkSize(payload: Uint8Array, what: string, id: string): void {
    if (payload.byteLength > this.maxPayloadBytes) {
      throw new PayloadTooLargeError(`${what} is ${payload.byteLength} bytes encoded, over the ${this.maxPayloadBytes}-byte limit`, {
        instanceId: id,
        bytes: payload.byteLength,
        limit: this.maxPayloadBytes,
      });
    }
  }
}

/** A store on Redis; see {@link RedisStoreOptions}. */
export function createRedisStore(options: RedisStoreOptions): RedisStore {
  return new RedisStore(options);
}

/** The arguments after the prefix that startRun and signalWithStart take to create a run. */
function newRunArgs(run: NewRun): ScriptArg[] {
  const signals = JSON.stringify(run.signals ?? null);
  const start = run.notBefore === undefined ? ["", 0] : "at" in run.notBefore ? ["at", run.notBefore.at] : ["delay", run.notBefore.delayMs];
  const parent = run.parent ? JSON.stringify({ id: run.parent.id, key: run.parent.key }) : "";
  return [run.id, run.workflow, run.hash, run.input, signals, ...start, parent];
}

/** The failed attempts a write carries, as the scripts take them: JSON, or "" for none. */
function failedArg(failed: readonly FailedAttempt[]): string {
  return failed.length === 0 ? "" : JSON.stringify(failed);
}

/** The widest window `promoteTimersIn` takes: a year. */
const MAX_TIMER_WINDOW_MS = 365 * 24 * 3_600_000;

/** What a commit goes on to, as commitStep-3.lua takes it (ARGV[9..11]). */
function thenArgs(then: CommitThen | undefined): ScriptArg[] {
  if (then === undefined) return ["", "", ""];
  if ("complete" in then) return ["complete", then.complete, ""];
  return ["attempt", then.startAttempt.key, then.startAttempt.attempt];
}

function stopped(reply: readonly unknown[]): Stopped {
  return { ok: false, stopped: text(reply[1]) as Stopped["stopped"], version: Number(reply[2]) };
}

/**
 * The score range a page walks, in ZRANGEBYSCORE syntax: the range of the index's own time (the
 * finish range on a finish index, else the creation range; the upper bound exclusive), narrowed to
 * the cursor's score, which is kept inclusive because runs of that score after the cursor's id still
 * belong to the page.
 */
function scoreRange(query: ListQuery, after: ListPosition | null, order: ListOrder): [low: string, high: string] {
  const [from, until] = listsByFinish(query) ? [query.finishedAfter, query.finishedBefore] : [query.createdAfter, query.createdBefore];
  let low = from === undefined ? "-inf" : String(from);
  let high = until === undefined ? "+inf" : `(${until}`;
  if (after !== null && order === "oldest" && (from === undefined || after.at > from)) low = String(after.at);
  if (after !== null && order === "newest" && (until === undefined || after.at < until)) high = String(after.at);
  return [low, high];
}

/** An index `list` walks, and the status of the runs it holds. */
interface ListIndex {
  readonly key: string;
  readonly status: RunStatus;
}

/**
 * The indexes a `list` query walks in one partition: together they hold exactly the runs of the
 * status and workflow asked for, so a page never walks past other runs. One per status asked for
 * (every status when none is), of the workflow when one is asked for: by finish, the finish index
 * of each finished status (none for a live status: a live run has no finish time); else the
 * creation index of each status.
 */
function listIndexes(k: KeyLayout, query: ListQuery): ListIndex[] {
  const { status, workflow } = query;
  const byFinish = listsByFinish(query);
  const statuses = (byFinish ? FINISHED_STATUSES : RUN_STATUSES).filter((s) => status === undefined || s === status);
  return statuses.map((s) => {
    if (byFinish) return { status: s, key: workflow === undefined ? k.finishStatus(s) : k.workflowFinishStatus(workflow, s) };
    return { status: s, key: workflow === undefined ? k.status(s) : k.workflowStatus(workflow, s) };
  });
}

/** The header field "signals": a JSON array of names, or null (a run started before it was recorded). */
function parseSignalNames(id: string, raw: string | null): readonly string[] | null {
  if (raw === null || raw === "null") return null;
  let names: unknown;
  try {
    names = JSON.parse(raw);
  } catch {
    names = undefined;
  }
  if (!Array.isArray(names) || !names.every((n) => typeof n === "string")) {
    throw new CodecError(`the stored header of run "${id}" is corrupted: field "signals" is not a list of names`, {
      instanceId: id,
      field: "signals",
    });
  }
  return names;
}

/** A schedule's hash (HGETALL pairs) as a {@link StoredSchedule}; null when empty (no such schedule). */
function parseSchedule(id: string, reply: unknown, now: number): StoredSchedule | null {
  const map = fields(reply);
  if (map.size === 0) return null;
  const field = (name: string) => {
    const value = map.get(name);
    if (value === undefined)
      throw new CodecError(`the stored schedule "${id}" is corrupted: field "${name}" is missing`, { scheduleId: id });
    return value;
  };
  let state: ScheduleState;
  try {
    state = JSON.parse(field("state").toString("utf8")) as ScheduleState;
  } catch (error) {
    if (error instanceof CodecError) throw error;
    throw new CodecError(`the stored schedule "${id}" is corrupted: field "state" is not valid JSON`, { scheduleId: id });
  }
  const due = field("dueAt").toString("utf8");
  return {
    id,
    version: Number(field("version").toString("utf8")),
    state,
    input: new Uint8Array(field("input")),
    dueAt: due === "" ? null : Number(due),
    createdAt: Number(field("createdAt").toString("utf8")),
    updatedAt: Number(field("updatedAt").toString("utf8")),
    now,
  };
}

function nullableNumber(reply: unknown): number | null {
  return reply === null || reply === undefined ? null : Number(reply);
}

/** A JSON array, even when empty (the scripts decode it with cjson). */
function jsonArray(items: readonly string[]): string {
  return JSON.stringify(items);
}

function closedError(): ClosedError {
  return new ClosedError("the Redis store is closed");
}
