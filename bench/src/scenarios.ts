/**
 * The scenarios, written once over the `EngineSession` interface so each
 * engine does exactly the same work:
 *
 * - drain (linear, fanout, scale): N runs are started with no worker running,
 *   then the workers start and drain the backlog; runs over the time from the
 *   first pickup to the last finish is the sustained throughput. A probe then
 *   starts runs one at a time on the idle fleet for end-to-end and pickup latency.
 * - signal-driven: N runs park on a signal; a driver sends the signals at a
 *   fixed rate (open loop) and measures signal → next step.
 * - sleeping: N runs park on one delay and wake together; wake lateness is
 *   when the next step starts minus when it was due.
 */
import { randomBytes } from "node:crypto";
import type { RedisConnection } from "@parkway/redis";
import type { BenchConfig, EngineName } from "./config.js";
import { cpuMsOf, machineBusyMs } from "./cpu.js";
import { EventLog, now } from "./events.js";
import type { Progress } from "./progress.js";
import { costBetween, readRedis, type CommandCounts, type RedisReading } from "./redis-probe.js";
import { drainRate, earliest, gaps, percentiles, round, type Percentiles } from "./stats.js";
import { runsFor, shapeName, stepsOf, type Engine, type EngineSession, type Shape } from "./engines/types.js";

/** What one scenario measured on one engine. Latencies in ms. */
export interface ScenarioResult {
  readonly scenario: string;
  readonly engine: EngineName;
  readonly workers: number;
  readonly concurrency: number;
  readonly runs: number;
  readonly stepsPerRun: number;
  readonly workflowsPerSec: number | null;
  readonly stepsPerSec: number | null;
  /**
   * A drain's rate once every worker process was consuming: runs finished after that, over the
   * time from then to the last finish. Workers start together but become ready a few hundred ms
   * apart on a busy machine; the first ones drain alone meanwhile, which `workflowsPerSec` counts.
   * Null when most runs had finished by then.
   */
  readonly allWorkersWorkflowsPerSec: number | null;
  /** How fast the harness could start runs (one client, 32 starts in flight). */
  readonly startsPerSec: number | null;
  /** One run at a time on an idle fleet: start → finished. */
  readonly endToEnd: Percentiles | null;
  /** One run at a time on an idle fleet: start → first step starts. */
  readonly pickup: Percentiles | null;
  /** signal sent → the step after the wait starts. */
  readonly signalToStep: Percentiles | null;
  /** The step after a delay starts minus when it was due. */
  readonly wakeLateness: Percentiles | null;
  /** Client calls to Redis per committed step (scripts count once; see redis-probe.ts). */
  readonly callsPerStep: number | null;
  /** Commands Redis executed per committed step, those inside scripts included. */
  readonly commandsPerStep: number | null;
  /** Redis server CPU µs per committed step (everything on the server during the drain, idle workers included). */
  readonly redisCpuUsPerStep: number | null;
  /** Redis server CPU µs per run. */
  readonly redisCpuUsPerRun: number | null;
  /**
   * The same less what the idle fleet costs Redis in as long a time (its polling: BullMQ's
   * blocking pops and stalled-job checks, the sweep), measured after the drain: a slower drain
   * polls longer, and this leaves that out. Measured where a scenario asks (flow-control).
   */
  readonly redisCpuUsPerRunLessIdle: number | null;
  /** Redis memory per parked run (used_memory delta). */
  readonly bytesPerParkedRun: number | null;
  /**
   * While the workers drained: Redis CPU time over wall time, in cores (every master, summed, on
   * a Cluster). Near 1 on one server (or on the busiest master) means Redis is the limit.
   */
  readonly redisBusyCores: number | null;
  /** The same for the busiest master (equal to `redisBusyCores` off a Cluster). */
  readonly busiestMasterCores: number | null;
  /** The worker processes' CPU time over wall time while they drained, in cores (Linux only). */
  readonly workerCpuCores: number | null;
  /** The whole machine's busy CPU time over wall time while they drained, in cores: other work on it included (Linux only). */
  readonly machineBusyCores: number | null;
  readonly redisCommands: CommandCounts | null;
  readonly elapsedMs: number;
}

/** What every scenario gets. */
export interface ScenarioContext {
  readonly config: BenchConfig;
  /** The suite's connection to the Redis (or Redis Cluster) the engines use, for its `INFO`. */
  readonly redis: RedisConnection;
  readonly progress: Progress;
}

/** Submissions in flight at once from the harness's one client. */
const START_CONCURRENCY = 32;
const PROBE_TIMEOUT_MS = 30_000;
/**
 * How long to wait for a worker's last events once the runs are done: a run's
 * end can reach the harness (pub/sub, Postgres) before the worker's batch of
 * step events does.
 */
const SETTLE_MS = 2000;

/**
 * The shortest drain whose CPU shares are reported: the kernel counts a process's CPU in 10 ms
 * ticks, so a shorter window says little (a tiny backlog may be gone before every worker is up).
 */
const MIN_BUSY_WINDOW_MS = 500;

/** Waits for events that should arrive, but measures what arrived if they do not. */
async function settle(wait: Promise<void>): Promise<void> {
  await wait.catch(() => undefined);
}

/**
 * Drains a backlog of `size` runs of `shape` (the engine's share of them); probes latency unless
 * `probe` is 0. With `idleMs`, then watches the idle fleet's Redis cost for that long, for
 * `redisCpuUsPerRunLessIdle`.
 */
export async function drain(
  ctx: ScenarioContext,
  engine: Engine,
  scenario: string,
  shape: Shape,
  size: number,
  workers: number,
  probe: number,
  idleMs = 0,
): Promise<ScenarioResult> {
  const { config, progress } = ctx;
  const began = now();
  const runs = runsFor(engine, size);
  const events = new EventLog();
  const prefix = runPrefix(shape);
  const session = await engine.open({ shape, workers, concurrency: config.concurrency, parked: 0, events, config, runPrefix: prefix });
  try {
    const before = engine.onRedis ? await readRedis(ctx.redis) : null;
    const startedAt = now();
    await startRuns(session, prefix, runs, (n) => progress.update(`starting ${n}/${runs}`));
    const startsPerSec = (runs * 1000) / (now() - startedAt);
    progress.update("starting workers");
    await session.startWorkers();
    const draining = engine.onRedis ? await readRedis(ctx.redis) : null;
    const workerCpu = await cpuMsOf(session.workerPids());
    const machineBusy = await machineBusyMs();
    const drainFrom = now();
    await events.waitFor("done", runs, config.scenarioTimeoutMs, (n) => progress.update(`${n}/${runs} runs done`));
    const after = engine.onRedis ? await readRedis(ctx.redis) : null;
    const workerCpuAfter = await cpuMsOf(session.workerPids());
    const machineBusyAfter = await machineBusyMs();
    const drainMs = now() - drainFrom;
    const cores = (from: number | null, to: number | null) =>
      from === null || to === null || drainMs < MIN_BUSY_WINDOW_MS ? null : round((to - from) / drainMs, 2);
    const rate = drainRate(earliest(events.all("first").values()), events.all("done").values());
    const lessIdle = idleMs > 0 ? await lessIdleCost(ctx.redis, idleMs, before, draining, after) : null;

    const submitted = new Map<string, number>();
    const probeUntil = now() + config.probeBudgetMs;
    for (let i = 0; i < probe && (i < 5 || now() < probeUntil); i++) {
      progress.update(`latency probe ${i + 1}/${probe}`);
      const id = `${prefix}-p${i}`;
      submitted.set(id, now());
      await session.start(id);
      await events.waitForRun("done", id, PROBE_TIMEOUT_MS);
      await settle(events.waitForRun("first", id, SETTLE_MS));
    }
    const afterAllReady = [...events.all("done").values()].filter((at) => at > drainFrom);
    const allReadyRate = afterAllReady.length >= runs / 2 ? drainRate(drainFrom, afterAllReady) : null;
    return {
      ...base(scenario, engine, workers, config, runs, shape),
      workflowsPerSec: round(rate, 1),
      stepsPerSec: round(rate * stepsOf(shape), 1),
      allWorkersWorkflowsPerSec: allReadyRate === null ? null : round(allReadyRate, 1),
      startsPerSec: round(startsPerSec, 1),
      endToEnd: percentiles(gaps(submitted, events.all("done"))),
      pickup: percentiles(gaps(submitted, events.all("first"))),
      ...redisCost(before, after, runs * stepsOf(shape), runs),
      redisCpuUsPerRunLessIdle: lessIdle === null ? null : round(lessIdle / runs, 1),
      ...redisBusy(draining, after),
      workerCpuCores: cores(workerCpu, workerCpuAfter),
      machineBusyCores: cores(machineBusy, machineBusyAfter),
      elapsedMs: round(now() - began, 0),
    };
  } finally {
    await session.close();
  }
}

/** Opens an engine session for `runs` runs that will park, with its event log and run id prefix. */
async function openParked(ctx: ScenarioContext, engine: Engine, shape: Shape, runs: number) {
  const { config } = ctx;
  const events = new EventLog();
  const prefix = runPrefix(shape);
  const session = await engine.open({
    shape,
    workers: config.workers,
    concurrency: config.concurrency,
    parked: runs,
    events,
    config,
    runPrefix: prefix,
  });
  return { events, prefix, session };
}

/** Parks `size` runs (the engine's share) on a signal, then signals them at `config.signalRate` per second. */
export async function signalDriven(ctx: ScenarioContext, engine: Engine, size: number): Promise<ScenarioResult> {
  const { config, progress } = ctx;
  const runs = runsFor(engine, size);
  const began = now();
  const shape: Shape = { kind: "signal" };
  const { events, prefix, session } = await openParked(ctx, engine, shape, runs);
  try {
    await session.startWorkers();
    const before = engine.onRedis ? await readRedis(ctx.redis) : null;
    await startRuns(session, prefix, runs, (n) => progress.update(`starting ${n}/${runs}`));
    await waitParked(session, runs, config.scenarioTimeoutMs, (n) => progress.update(`${n}/${runs} parked`));
    const parked = engine.onRedis ? await readRedis(ctx.redis) : null;

    const sentAt = new Map<string, number>();
    const signalledAt = now();
    await paced(runs, config.signalRate, async (i) => {
      const id = `${prefix}-${i}`;
      sentAt.set(id, now());
      await session.signal(id);
      if (i % 50 === 0) progress.update(`signalled ${i}/${runs}`);
    });
    await events.waitFor("done", runs, config.scenarioTimeoutMs, (n) => progress.update(`${n}/${runs} runs done`));
    const after = engine.onRedis ? await readRedis(ctx.redis) : null;
    await settle(events.waitFor("resumed", runs, SETTLE_MS));
    const rate = drainRate(signalledAt, events.all("done").values());
    return {
      ...base("signal-driven", engine, config.workers, config, runs, shape),
      workflowsPerSec: round(rate, 1),
      stepsPerSec: round(rate * stepsOf(shape), 1),
      signalToStep: percentiles(gaps(sentAt, events.all("resumed"))),
      ...redisCost(before, after, runs * stepsOf(shape), runs),
      bytesPerParkedRun: memoryPerRun(before, parked, runs),
      elapsedMs: round(now() - began, 0),
    };
  } finally {
    await session.close();
  }
}

/** Parks `size` runs (the engine's share) on one delay; they wake together. */
export async function sleeping(ctx: ScenarioContext, engine: Engine, size: number): Promise<ScenarioResult> {
  const { config, progress } = ctx;
  const runs = runsFor(engine, size);
  const began = now();
  const shape: Shape = { kind: "sleep", delayMs: config.sleepDelayMs };
  const { events, prefix, session } = await openParked(ctx, engine, shape, runs);
  try {
    await session.startWorkers();
    const before = engine.onRedis ? await readRedis(ctx.redis) : null;
    await startRuns(session, prefix, runs, (n) => progress.update(`starting ${n}/${runs}`));
    // Read memory when all are parked, or when the first wakes (a run of a huge N may park slower than it sleeps).
    let woke = false;
    const parkedAll = waitParked(
      session,
      runs,
      config.sleepDelayMs + config.scenarioTimeoutMs,
      (n) => progress.update(`${n}/${runs} parked`),
      () => woke,
    );
    const firstWake = events.waitFor("resumed", 1, config.sleepDelayMs + config.scenarioTimeoutMs);
    try {
      await Promise.race([parkedAll, firstWake]);
    } finally {
      woke = true;
      // The loser settles later; its outcome no longer matters.
      parkedAll.catch(() => undefined);
      firstWake.catch(() => undefined);
    }
    const parkedCount = await session.parked();
    const parked = engine.onRedis ? await readRedis(ctx.redis) : null;
    const timeout = config.sleepDelayMs + config.scenarioTimeoutMs;
    await events.waitFor("done", runs, timeout, (n) => progress.update(`${n}/${runs} woke and finished`));
    const after = engine.onRedis ? await readRedis(ctx.redis) : null;
    await settle(events.waitFor("resumed", runs, SETTLE_MS));
    const rate = drainRate(earliest(events.all("resumed").values()), events.all("done").values());
    return {
      ...base("sleeping", engine, config.workers, config, runs, shape),
      workflowsPerSec: round(rate, 1),
      stepsPerSec: round(rate * stepsOf(shape), 1),
      wakeLateness: percentiles(gaps(events.all("armed"), events.all("resumed"), config.sleepDelayMs)),
      ...redisCost(before, after, runs * stepsOf(shape), runs),
      bytesPerParkedRun: memoryPerRun(before, parked, parkedCount),
      elapsedMs: round(now() - began, 0),
    };
  } finally {
    await session.close();
  }
}

function base(scenario: string, engine: Engine, workers: number, config: BenchConfig, runs: number, shape: Shape): ScenarioResult {
  return {
    scenario,
    engine: engine.name,
    workers,
    concurrency: config.concurrency,
    runs,
    stepsPerRun: stepsOf(shape),
    workflowsPerSec: null,
    stepsPerSec: null,
    allWorkersWorkflowsPerSec: null,
    startsPerSec: null,
    endToEnd: null,
    pickup: null,
    signalToStep: null,
    wakeLateness: null,
    callsPerStep: null,
    commandsPerStep: null,
    redisCpuUsPerStep: null,
    redisCpuUsPerRun: null,
    redisCpuUsPerRunLessIdle: null,
    bytesPerParkedRun: null,
    redisCommands: null,
    redisBusyCores: null,
    busiestMasterCores: null,
    workerCpuCores: null,
    machineBusyCores: null,
    elapsedMs: 0,
  };
}

function redisCost(
  before: RedisReading | null,
  after: RedisReading | null,
  steps: number,
  runs: number,
): Pick<ScenarioResult, "callsPerStep" | "commandsPerStep" | "redisCpuUsPerStep" | "redisCpuUsPerRun" | "redisCommands"> {
  if (!before || !after)
    return { callsPerStep: null, commandsPerStep: null, redisCpuUsPerStep: null, redisCpuUsPerRun: null, redisCommands: null };
  const cost = costBetween(before, after);
  return {
    callsPerStep: round(cost.roundTrips / steps, 2),
    commandsPerStep: round(cost.totalCommands / steps, 2),
    redisCpuUsPerStep: round(cost.cpuUs / steps, 1),
    redisCpuUsPerRun: round(cost.cpuUs / runs, 1),
    redisCommands: cost.commands,
  };
}

/**
 * Redis CPU µs from `before` to `after` less the idle fleet's: its rate over the next `idleMs`
 * (nothing left to do) times how long the workers ran. Null off Redis.
 */
async function lessIdleCost(
  redis: RedisConnection,
  idleMs: number,
  before: RedisReading | null,
  draining: RedisReading | null,
  after: RedisReading | null,
): Promise<number | null> {
  if (!before || !draining || !after) return null;
  await new Promise((resolve) => setTimeout(resolve, idleMs));
  const idle = costBetween(after, await readRedis(redis));
  return after.cpuUs - before.cpuUs - (idle.cpuUs / idle.ms) * (after.at - draining.at);
}

function redisBusy(from: RedisReading | null, to: RedisReading | null): Pick<ScenarioResult, "redisBusyCores" | "busiestMasterCores"> {
  const cost = from && to ? costBetween(from, to) : null;
  if (!cost || cost.ms < MIN_BUSY_WINDOW_MS) return { redisBusyCores: null, busiestMasterCores: null };
  const wallUs = cost.ms * 1000;
  return { redisBusyCores: round(cost.cpuUs / wallUs, 2), busiestMasterCores: round(cost.busiestNodeCpuUs / wallUs, 2) };
}

function memoryPerRun(before: RedisReading | null, parked: RedisReading | null, runs: number): number | null {
  if (!before || !parked || runs === 0) return null;
  return Math.round((parked.usedMemory - before.usedMemory) / runs);
}

/** Run ids of one session: unique, and sharing a prefix an engine can filter on. */
function runPrefix(shape: Shape): string {
  return `${shapeName(shape)}-${randomBytes(4).toString("hex")}`;
}

async function startRuns(session: EngineSession, prefix: string, runs: number, onProgress: (n: number) => void): Promise<void> {
  let next = 0;
  let started = 0;
  const lane = async () => {
    while (next < runs) {
      const i = next++;
      await session.start(`${prefix}-${i}`);
      if (++started % 100 === 0) onProgress(started);
    }
  };
  await Promise.all(Array.from({ length: Math.min(START_CONCURRENCY, runs) }, lane));
}

/** Polls until `runs` runs are parked; gives up quietly once `stop()` says the answer is no longer needed. */
async function waitParked(
  session: EngineSession,
  runs: number,
  timeoutMs: number,
  onProgress: (n: number) => void,
  stop: () => boolean = () => false,
): Promise<void> {
  const deadline = now() + timeoutMs;
  while (!stop()) {
    const parked = await session.parked();
    onProgress(parked);
    if (parked >= runs) return;
    if (now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${parked} of ${runs} runs parked`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Calls `fn(i)` for i < count at `perSecond`, not waiting for one call before the next (open loop). */
async function paced(count: number, perSecond: number, fn: (i: number) => Promise<void>): Promise<void> {
  const start = now();
  const calls: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const wait = start + (i * 1000) / perSecond - now();
    if (wait >= 1) await new Promise((resolve) => setTimeout(resolve, wait));
    calls.push(fn(i));
  }
  await Promise.all(calls);
}
