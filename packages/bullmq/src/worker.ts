/**
 * `WorkflowWorker`: a process's share of the fleet. It consumes wake-up jobs
 * (each means "advance run X": the run goes step after step inside that one
 * job until it parks or ends), schedules the next wake-up when a run parks,
 * and sweeps the store's due index so a lost job never leaves a run stuck.
 */
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import {
  advanceRun,
  checkOptions,
  fireSchedule,
  checkpointOptions,
  configureRetention,
  parkwayMetrics,
  MetricNames,
  resolveLogger,
  DURABLE_RUNNER_OPTIONS,
  durationInRange,
  integerInRange,
  realClock,
  RunsInFlight,
  registeredWorkflows,
  WorkflowRegistry,
  type AdvanceOutcome,
  type CheckpointOptions,
  type DurableRunnerOptions,
  type Duration,
  type Handoff,
  type Logger,
  type Wake,
  type RetentionMs,
  type Workflow,
} from "@parkway/core";
import { type Context, type ObservableGauge, type ObservableResult, ROOT_CONTEXT } from "@opentelemetry/api";
import {
  checkConnection,
  closeConnection,
  connectionAddress,
  partitionsOption,
  RedisStore,
  RedisWorkerRegistry,
  TIMER_HORIZON_MS,
  type RedisConnection,
  type WorkerRegistration,
} from "@parkway/redis";
import { Worker, type Job, type Queue } from "bullmq";
import { queueConnection, type Connection } from "./connection.js";
import { QueueWaker } from "./waker.js";
import { queuePrefix, WAKE_QUEUE, wakeJobContext, type WakeJobData } from "./wake-jobs.js";
import { BULLMQ_VERSION } from "./version.js";

export interface WorkflowWorkerOptions extends DurableRunnerOptions {
  /**
   * A Redis URL or ioredis options (`{ host, port, ... }`): the worker opens its connections and
   * `close()` closes them. Or an ioredis `Redis` or `Cluster` to share: the worker never closes it
   * (it opens its own BullMQ connections from it, and closes those).
   */
  readonly connection: Connection;
  readonly workflows: readonly Workflow<never, unknown>[];
  /** Runs advanced at once by this worker (default 10, 1 to 10,000). Step functions are bounded by `stepConcurrency`. */
  readonly concurrency?: number;
  /** Step functions running at once across this worker's runs (default 4 × concurrency, 1 to 100,000). */
  readonly stepConcurrency?: number;
  /** Runs and queues live under the hash tag `{namespace}`, or `{namespace:p}` per partition (default "parkway"). */
  readonly namespace?: string;
  /**
   * The namespace's partition count (1 to 128, default 1): the worker serves every partition, with
   * one BullMQ worker per partition's queue. Must be the count the namespace was first used with
   * (`start()` rejects with a `ValidationError` naming both otherwise).
   */
  readonly partitions?: number;
  /** How often the due index is swept for runs whose wake-up was lost (default 1s, 100ms to 1h). */
  readonly sweepInterval?: Duration;
  /** How late a run must be before a sweep re-enqueues it (default 2s, 0 to 1h). */
  readonly sweepGrace?: Duration;
}

/** Whether a worker can do its work: what `/readyz` answers. */
export type Readiness = { readonly ready: true } | { readonly ready: false; readonly reason: string };

/** A worker's registration lapses this many heartbeats after its last one: a killed worker disappears then. */
export const REGISTRATION_LAPSES_AFTER = 5;

/**
 * Most runs one wake-up job advances: its own, then runs granted the slots it gave back. Bounded,
 * so a job ends and a chained run is reached well before a sweep would think its wake-up lost.
 */
const RUNS_PER_JOB = 10;

/** Shortest time between two heartbeats of a worker's registration. */
const MIN_HEARTBEAT_MS = 1000;

/** Most far timers one call takes from a partition (promotion goes on while calls come back full). */
const PROMOTE_BATCH = 1000;

/** How long a readiness check waits for Redis to answer PING. */
const READINESS_PING_MS = 2000;

const WORKER_OPTIONS = [
  ...DURABLE_RUNNER_OPTIONS,
  "connection",
  "workflows",
  "concurrency",
  "stepConcurrency",
  "namespace",
  "partitions",
  "sweepInterval",
  "sweepGrace",
] as const;

/** What the worker has done since it started. */
export interface WorkerStats {
  readonly jobs: number;
  readonly swept: number;
  readonly outcomes: Readonly<Record<string, number>>;
}

export class WorkflowWorker {
  /** This worker's id in the namespace's worker registry: random, kept for the worker's life. */
  readonly id = randomBytes(6).toString("hex");
  readonly store: RedisStore;
  /** What this worker registers in its namespace's worker registry (`client.workers()` lists it). */
  readonly registration: WorkerRegistration;
  private readonly waker: QueueWaker;
  private readonly checkpoint: CheckpointOptions;
  private readonly retention: RetentionMs | undefined;
  private readonly concurrency: number;
  private readonly sweepMs: number;
  private readonly graceMs: number;
  private readonly leaseMs: number;
  private readonly inFlight: RunsInFlight;
  private readonly registry: WorkflowRegistry;
  private unlisten: (() => Promise<void>) | null = null;
  /** One BullMQ worker per partition's queue, while started. */
  private workers: Worker<WakeJobData>[] = [];
  private workerRedis: RedisConnection | null = null;
  private readonly logger: Logger;
  private waitingGauge: { gauge: ObservableGauge; observe: (result: ObservableResult) => Promise<void> } | null = null;
  private sweeper: NodeJS.Timeout | null = null;
  private sweeping: Promise<void> | null = null;
  private promoter: NodeJS.Timeout | null = null;
  private promoting: Promise<void> | null = null;
  private readonly counts = { jobs: 0, swept: 0, outcomes: {} as Record<string, number> };
  private readonly roster: RedisWorkerRegistry;
  /** The heartbeat rides on the sweep timer: one every `heartbeatTicks` sweeps, at least a second apart. */
  private readonly heartbeatTicks: number;
  private ticks = 0;
  private beating: Promise<void> | null = null;
  /** When this worker first registered (store time); null until it has. */
  private startedAt: number | null = null;
  /** What close() waits for now: a sentence for a shutdown that takes too long; null when not closing. */
  private closeWait: (() => string) | null = null;

  /** @throws ValidationError naming an unknown option, or one of the wrong type or out of its documented range */
  constructor(private readonly options: WorkflowWorkerOptions) {
    checkOptions("WorkflowWorker", options, WORKER_OPTIONS);
    checkConnection(options.connection, "WorkflowWorker");
    const namespace = options.namespace ?? "parkway";
    const partitions = partitionsOption(options.partitions);
    this.concurrency = integerInRange(options.concurrency, "concurrency", 10, 1, 10_000);
    const stepConcurrency = integerInRange(options.stepConcurrency, "stepConcurrency", this.concurrency * 4, 1, 100_000);
    this.sweepMs = durationInRange(options.sweepInterval, "sweepInterval", "1s", 100, 3_600_000);
    this.graceMs = durationInRange(options.sweepGrace, "sweepGrace", "2s", 0, 3_600_000);
    this.logger = resolveLogger(options.logger, "WorkflowWorker");
    this.store = new RedisStore({
      connection: options.connection,
      namespace,
      partitions,
      logger: this.logger,
      ...(options.maxPayloadBytes ? { maxPayloadBytes: options.maxPayloadBytes } : {}),
    });
    let checkpoint: ReturnType<typeof checkpointOptions>;
    this.registry = new WorkflowRegistry(options.workflows);
    try {
      checkpoint = checkpointOptions(
        { store: this.store, workflows: this.registry, clock: realClock },
        { ...options, concurrency: stepConcurrency },
      );
    } catch (error) {
      void this.store.close(); // the options were refused: let go of the connection it opened
      throw error;
    }
    this.waker = new QueueWaker(options.connection, namespace, this.store.connectionWatch, partitions);
    // Hook: a run a freed concurrency slot made due, a child run just started, or a parent its child
    // just told, gets its wake-up now (the sweep is the fallback).
    this.checkpoint = {
      ...checkpoint,
      wake: (id, version, reason = "slot") =>
        void this.waker
          .wake(id, { reason, version, dueAt: null, trace: ROOT_CONTEXT })
          .catch((error: unknown) => this.report(error, "wake")),
    };
    this.retention = checkpoint.retention;
    this.inFlight = checkpoint.inFlight;
    this.leaseMs = checkpoint.leaseMs;
    this.roster = new RedisWorkerRegistry(this.store.redis, namespace);
    this.heartbeatTicks = Math.ceil(MIN_HEARTBEAT_MS / this.sweepMs);
    this.registration = {
      id: this.id,
      host: hostname(),
      pid: process.pid,
      namespace,
      partitions: Array.from({ length: partitions }, (_, p) => p),
      workflows: registeredWorkflows(options.workflows),
      concurrency: this.concurrency,
      stepConcurrency,
      version: BULLMQ_VERSION,
    };
  }

  /** How often the registration is renewed: the sweep interval, or a multiple of it of at least a second. */
  get heartbeatMs(): number {
    return this.heartbeatTicks * this.sweepMs;
  }

  /**
   * Starts consuming wake-ups and sweeping. Resolves once the worker is connected. Warns once
   * (through the logger) when Redis runs without AOF.
   */
  async start(): Promise<void> {
    if (this.workers.length > 0) return;
    // First: a worker configured with another partition count than the namespace's takes nothing.
    await this.store.checkPartitions();
    await this.store.checkPersistence();
    // Before the first job: a run this worker finishes is kept as its workflow says.
    await configureRetention(this.store, this.retention, this.options.workflows);
    // Registered before it consumes, so a registration that fails fails start() with nothing started.
    this.startedAt ??= await this.roster.heartbeat(this.registration, this.registrationTtlMs, null);
    this.workerRedis = queueConnection(this.options.connection, "the worker's queue", this.store.connectionWatch);
    const partitions = this.store.partitions;
    this.workers = this.store.layouts.map(
      (_, p) =>
        new Worker<WakeJobData>(WAKE_QUEUE, (job) => this.process(job), {
          connection: this.workerRedis!,
          prefix: queuePrefix(this.namespace, p, partitions),
          concurrency: concurrencyShare(this.concurrency, p, partitions),
          // A dead worker's job is noticed when its lock lapses; the store's lease fences it from then on.
          lockDuration: this.leaseMs,
          stalledInterval: Math.max(1000, Math.round(this.leaseMs / 2)),
          maxStalledCount: 10,
          removeOnComplete: { count: 0 },
          removeOnFail: { count: 0 },
          autorun: false,
        }),
    );
    for (const worker of this.workers) worker.on("error", (error) => this.report(error, "worker"));
    // Subscribed before the first job: a cancel asked of a run this worker advances aborts its tasks at once.
    this.unlisten = await this.inFlight.listen(this.store);
    for (const worker of this.workers) void worker.run().catch((error: unknown) => this.report(error, "worker"));
    await Promise.all(this.workers.map((worker) => worker.waitUntilReady()));
    this.sweeper = setInterval(() => {
      void this.sweep();
      if (++this.ticks % this.heartbeatTicks === 0) void this.heartbeat();
    }, this.sweepMs);
    void this.sweep();
    this.promoter = setInterval(() => void this.promoteTimers(), this.promoteEveryMs);
    void this.promoteTimers();
    this.observeWaiting();
  }

  /**
   * Ready when this worker consumes wake-ups and Redis answers (what a `/readyz` probe asks).
   * A worker that is not ready keeps trying on its own: it needs no restart when Redis returns.
   */
  async readiness(): Promise<Readiness> {
    if (this.workers.length === 0) return { ready: false, reason: "the worker is not started" };
    if (!this.workers.every((worker) => worker.isRunning())) return { ready: false, reason: "the worker is stopping" };
    const unreachable = this.store.connectionWatch.unreachable;
    if (unreachable !== null || this.store.redis.status !== "ready") {
      return {
        ready: false,
        reason: unreachable ?? `cannot reach Redis at ${connectionAddress(this.store.redis)} (${this.store.redis.status})`,
      };
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), READINESS_PING_MS)));
    try {
      const answer = await Promise.race([this.store.redis.ping(), timeout]);
      if (answer === "timeout")
        return {
          ready: false,
          reason: `Redis at ${connectionAddress(this.store.redis)} did not answer PING within ${READINESS_PING_MS}ms`,
        };
      return { ready: true };
    } catch (error) {
      return { ready: false, reason: `Redis at ${connectionAddress(this.store.redis)} refused PING: ${(error as Error).message}` };
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Shuts the worker down at a step boundary: takes no new wake-ups, lets the
   * steps in flight finish (aborting their tasks through `ctx.signal` once
   * `shutdownGrace` has passed, and never waiting for an aborted task), then
   * releases each run there, with a wake-up, so another worker resumes it at
   * once from its last commit: no step starts on this worker after close()
   * is called, and a late task result is never committed. A run cut short by
   * a forced exit is resumed elsewhere once its lease lapses.
   */
  async close(): Promise<void> {
    // First and synchronously: from here on no step or attempt starts on this worker.
    const draining = this.inFlight.drain();
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
    if (this.promoter) clearInterval(this.promoter);
    this.promoter = null;
    this.waitingGauge?.gauge.removeCallback(this.waitingGauge.observe);
    this.waitingGauge = null;
    this.closeWait = () => "the sweep in progress";
    await this.sweeping;
    await this.promoting;
    this.closeWait = () => "the worker registry's heartbeat and deregistration";
    // Gone from the registry at once (it takes no new work), after any heartbeat that would re-register it.
    await this.beating;
    if (this.startedAt !== null) await this.roster.deregister(this.id).catch((error: unknown) => this.report(error, "deregister"));
    this.startedAt = null;
    // BullMQ's close waits for the jobs in flight, which end once their runs are released.
    const open = new Set(this.workers.keys());
    const closing = Promise.all(this.workers.map((worker, p) => worker.close().then(() => open.delete(p))));
    this.closeWait = () => `${this.inFlight.size} run(s) in flight, released at their next step boundary`;
    await draining;
    this.closeWait = () => `the wake-up queue's BullMQ worker of partition(s) ${[...open].join(", ")}`;
    await closing;
    this.closeWait = () => "the cancel channel's unsubscribe";
    await this.unlisten?.();
    this.closeWait = () => "the wake-up queue's connection";
    await this.waker.close();
    this.closeWait = () => "the store's connections";
    await this.store.close();
    this.closeWait = () => "the BullMQ workers' connection";
    if (this.workerRedis) await closeConnection(this.workerRedis);
    this.closeWait = null;
    this.workers = [];
  }

  /** While close() runs, what it waits for now (as a sentence for logs); null otherwise. */
  get closePending(): string | null {
    return this.closeWait?.() ?? null;
  }

  /** How long close() lets steps in flight run before it aborts them (the `shutdownGrace` option). */
  get shutdownGraceMs(): number {
    return this.inFlight.shutdownGraceMs;
  }

  get stats(): WorkerStats {
    return { jobs: this.counts.jobs, swept: this.counts.swept, outcomes: { ...this.counts.outcomes } };
  }

  /**
   * Advances the job's run, then the runs that the slots it gave back as it ended were granted to
   * (at most {@link RUNS_PER_JOB} in all): each is due already, and a wake-up job would queue it
   * behind the backlog while its slot sits idle. A run this job cannot reach is woken as usual.
   */
  private async process(job: Job<WakeJobData>): Promise<void> {
    this.counts.jobs++;
    // The run attempt is a child of the span that asked for this wake-up (start, signal, ...),
    // even in another process; a job without a carrier (a sweep) starts a trace of its own.
    const caller = wakeJobContext(job.data);
    this.recordWakeLag(job);
    const granted: { readonly id: string; readonly version: number }[] = [];
    let taken = 1; // the job's own run, and each handed over
    const handoff: Handoff = (id, version) => {
      if (taken >= RUNS_PER_JOB) return false;
      taken++;
      granted.push({ id, version });
      return true;
    };
    try {
      await this.advance(job.data.id, caller, handoff);
      for (let next = granted.shift(); next; next = granted.shift()) await this.advance(next.id, ROOT_CONTEXT, handoff);
    } finally {
      // Left by an advance that threw: their wake-ups go through the queue.
      for (const { id, version } of granted) this.checkpoint.wake?.(id, version);
    }
  }

  private async advance(id: string, caller: Context, handoff: Handoff): Promise<void> {
    const outcome = await advanceRun(this.checkpoint, id, caller, handoff);
    this.counts.outcomes[outcome.outcome] = (this.counts.outcomes[outcome.outcome] ?? 0) + 1;
    // A finished run's pending wake-ups (a signal's timeout, a timer) were retired by the script that
    // ended it: the sweep removes them (removeStale), at no cost to this run.
    await this.scheduleNext(id, outcome, caller);
  }

  /**
   * After a park, or a wake that came early or found the run busy, asks for the next look. The
   * next wake-up carries the same caller, so the attempts after a delay join the trace too.
   */
  private async scheduleNext(id: string, outcome: AdvanceOutcome, caller: Context): Promise<void> {
    if (outcome.outcome === "released") {
      // The job in flight is this one: the wake-up's id carries `now` so BullMQ keeps it.
      await this.waker.wake(id, { reason: "lease", version: outcome.version, dueAt: null, now: outcome.now, trace: caller });
    } else if (outcome.outcome === "parked" && outcome.dueAt !== null && !outcome.onGrant) {
      // Not for a run waiting only for concurrency slots: the release that grants it one wakes it,
      // and the sweep covers its deadline (a holder that died). That saves a delayed job a waiter.
      await this.waker.wake(id, { reason: "timer", version: outcome.version, dueAt: outcome.dueAt, now: outcome.now, trace: caller });
    } else if (outcome.outcome === "skipped" && (outcome.reason === "busy" || outcome.reason === "not-due") && outcome.dueAt !== null) {
      const reason = outcome.reason === "busy" ? "lease" : "timer";
      await this.waker.wake(id, { reason, version: 0, dueAt: outcome.dueAt, now: outcome.now, trace: caller });
    }
  }

  /** How long the registration outlives the last heartbeat. */
  private get registrationTtlMs(): number {
    return REGISTRATION_LAPSES_AFTER * this.heartbeatMs;
  }

  /** Renews the registration; skipped while the previous heartbeat is still on its way. */
  private heartbeat(): Promise<void> {
    this.beating ??= (async () => {
      try {
        if (this.startedAt !== null) await this.roster.heartbeat(this.registration, this.registrationTtlMs, this.startedAt);
      } catch (error) {
        this.report(error, "heartbeat");
      } finally {
        this.beating = null;
      }
    })();
    return this.beating;
  }

  /**
   * Re-enqueues runs whose wake-up is overdue (the job was lost, or its worker died), and trims
   * finished runs past their retention, partition by partition.
   */
  private sweep(): Promise<void> {
    this.sweeping ??= (async () => {
      try {
        await Promise.all(this.store.layouts.map((_, p) => this.sweepPartition(p)));
      } finally {
        this.sweeping = null;
      }
    })();
    return this.sweeping;
  }

  /**
   * Starts the runs of the partition's due schedule ticks. Every worker does, at each sweep: the
   * tick protocol (mark, start, settle) lets exactly one of them start each tick.
   */
  private async fireSchedules(partition: number): Promise<void> {
    try {
      const { ids } = await this.store.dueSchedulesIn(partition, 100);
      const tick = {
        store: this.store,
        workflows: this.registry,
        wake: (id: string, wake: Wake) => this.waker.wake(id, { ...wake, trace: ROOT_CONTEXT }),
      };
      for (const id of ids) await fireSchedule(tick, id).catch((error: unknown) => this.report(error, `schedule "${id}"`));
    } catch (error) {
      this.report(error, "schedules");
    }
  }

  /**
   * Sweeps one partition: trims its finished runs whose retention passed (their keys expired,
   * their index entries go here), removes the wake-up jobs of runs that are over, sweeps its
   * due index, with the backlog of that partition's queue as extra grace.
   */
  private async sweepPartition(partition: number): Promise<void> {
    await this.fireSchedules(partition);
    try {
      await this.store.trimExpiredIn(partition, 1000);
      await this.waker.removeStale(partition);
      const backlogMs = await this.backlogMs(this.waker.queues[partition]!);
      if (backlogMs === null) return; // the queue moved under us: look again next sweep
      const { ids } = await this.store.dueIn(partition, 1000, this.graceMs + backlogMs);
      // The sweep's own context is whatever was active at start(): not a caller of these runs.
      await Promise.all(ids.map((id) => this.waker.wake(id, { reason: "sweep", version: 0, dueAt: null, trace: ROOT_CONTEXT })));
      this.counts.swept += ids.length;
    } catch (error) {
      this.report(error, "sweep");
    }
  }

  /**
   * Gives the far timers that come within the store's horizon their wake-up jobs, every partition,
   * at least four times per horizon whatever the sweep interval: a timer gets its job minutes before
   * it falls due. A worker that dies between taking timers and adding their jobs leaves those runs
   * to the sweep of overdue runs.
   */
  private promoteTimers(): Promise<void> {
    this.promoting ??= (async () => {
      try {
        await Promise.all(
          this.store.layouts.map(async (_, partition) => {
            for (let taken = PROMOTE_BATCH; taken === PROMOTE_BATCH && this.promoter !== null;) {
              const { timers, now } = await this.store.promoteTimersIn(partition, TIMER_HORIZON_MS, PROMOTE_BATCH);
              await Promise.all(timers.map((timer) => this.waker.promote(timer.id, timer.dueAt, now)));
              taken = timers.length;
            }
          }),
        );
      } catch (error) {
        this.report(error, "promoting far timers");
      } finally {
        this.promoting = null;
      }
    })();
    return this.promoting;
  }

  /** How often far timers are promoted: each sweep, or four times per horizon when sweeps are rarer. */
  private get promoteEveryMs(): number {
    return Math.min(this.sweepMs, TIMER_HORIZON_MS / 4);
  }

  /**
   * How long the oldest waiting wake-up job has waited. A backlog is not a lost wake-up: jobs are
   * taken oldest first, so a run that fell due after that job was queued may have its own job
   * still waiting, and sweeping it would only queue a duplicate behind it (and under load, one
   * per sweep, which slows the queue further). A delayed job counts from the end of its delay.
   * The job's timestamp is its adder's clock: this only widens the grace, it is not a deadline.
   * Null when the oldest job was taken between reading its id and its data while others wait.
   */
  private async backlogMs(queue: Queue<WakeJobData>): Promise<number | null> {
    const [oldest] = await queue.getJobs(["wait"], 0, 0, true);
    if (oldest) return Math.max(0, Date.now() - oldest.timestamp - (oldest.opts.delay ?? 0));
    return (await queue.getWaitingCount()) > 0 ? null : 0;
  }

  /**
   * How late a timed wake-up (a delay, a retry backoff, a signal timeout) ran after it fell
   * due. Its due time is its adder's clock plus its delay: close enough for a lag measure.
   */
  private recordWakeLag(job: Job<WakeJobData>): void {
    const delay = job.opts.delay ?? 0;
    if (!job.id?.startsWith("timer-") || delay <= 0) return;
    const lagMs = (job.processedOn ?? Date.now()) - (job.timestamp + delay);
    parkwayMetrics().wakeLag.record(Math.max(0, lagMs) / 1000, { "parkway.namespace": this.namespace });
  }

  /** Reports the wake-ups waiting for a worker slot while someone collects metrics (never read without an SDK). */
  private observeWaiting(): void {
    const gauge = parkwayMetrics().meter.createObservableGauge(MetricNames.runsWaiting, {
      description: "Wake-ups waiting in the queue for a free worker slot",
    });
    const observe = async (result: ObservableResult) => {
      // A failed read (Redis away) reports nothing for this collection rather than a false zero.
      const waiting = await Promise.all(this.waker.queues.map((queue) => queue.getWaitingCount()))
        .then((counts) => counts.reduce((a, b) => a + b, 0))
        .catch(() => null);
      if (waiting !== null) result.observe(waiting, { "parkway.namespace": this.namespace });
    };
    gauge.addCallback(observe);
    this.waitingGauge = { gauge, observe };
  }

  /**
   * While Redis is unreachable, every command fails with a connection error. The worker's
   * connections are all watched, and the watch says so once per retry: these go to debug
   * rather than repeat it with a stack.
   */
  private report(error: unknown, where: string): void {
    if (this.options.onError) return this.options.onError(error, where);
    if (isConnectionError(error)) {
      this.logger.debug({ err: error, where }, `${where}: ${(error as Error).message} (Redis unreachable)`);
    } else {
      this.logger.error({ err: error, where }, `${where} failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private get namespace(): string {
    return this.options.namespace ?? "parkway";
  }
}

/**
 * Partition `p`'s share of a worker's `concurrency`: an even split, the remainder to the first
 * partitions, and at least 1 (so a worker with fewer slots than partitions runs up to one run per
 * partition at once). Split rather than shared through one limiter because a job a BullMQ worker
 * has taken is locked to this process: a shared limiter would let each partition's worker take
 * jobs it cannot yet run while other processes sit idle. Runs spread evenly over the partitions
 * (their ids are hashed), so the split costs little.
 */
export function concurrencyShare(concurrency: number, partition: number, partitions: number): number {
  return Math.max(1, Math.floor(concurrency / partitions) + (partition < concurrency % partitions ? 1 : 0));
}

const CONNECTION_ERROR_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EHOSTUNREACH", "EAI_AGAIN"]);

/** An error a lost connection causes (as ioredis and BullMQ raise them), not a bug or a bad reply. */
function isConnectionError(error: unknown): boolean {
  const e = error as { code?: unknown; name?: unknown; message?: unknown } | null;
  if (typeof e !== "object" || e === null) return false;
  if (typeof e.code === "string" && CONNECTION_ERROR_CODES.has(e.code)) return true;
  if (e.name === "MaxRetriesPerRequestError") return true;
  return typeof e.message === "string" && /Connection is closed|Stream isn't writeable|connect E[A-Z]+/.test(e.message);
}
