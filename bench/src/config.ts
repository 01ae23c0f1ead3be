/**
 * What one invocation of the suite runs: engines, scenarios, sizes and the
 * services to use. Defaults finish in a few minutes on a 2-core machine; every
 * size has a flag, so the same code runs 1,000,000 sleeping runs when asked.
 */
import { parseArgs } from "node:util";
import { MAX_LIMIT, ValidationError } from "@parkway/core";
import { clusterSeeds, MAX_PARTITIONS } from "@parkway/redis";
import { MIN_CLUSTER_MASTERS } from "./redis-servers.js";

/** The engines compared. Parkway is always the subject; the others are peers. */
export const ENGINES = ["parkway", "bullmq", "dbos"] as const;
/** One of {@link ENGINES}. */
export type EngineName = (typeof ENGINES)[number];

/** Scenario families, named as the reference engine names them. */
export const SCENARIOS = ["linear", "work", "fanout", "signal-driven", "sleeping", "executors", "scale", "flow-control"] as const;
/** One of {@link SCENARIOS}. */
export type ScenarioName = (typeof SCENARIOS)[number];

/** Redis the suite starts for itself (on spare loopback ports) and stops at the end. */
export type LocalRedisSpec =
  /** One private redis-server: `--redis local`. */
  | { readonly kind: "server" }
  /** A private Redis Cluster: `--redis-cluster local:N`. */
  | { readonly kind: "cluster"; readonly masters: number };

/** The most masters `--redis-cluster local:N` starts (each is a redis-server on this machine). */
const MAX_LOCAL_MASTERS = 16;

/** Everything a run of the suite needs to know. */
export interface BenchConfig {
  readonly engines: readonly EngineName[];
  readonly scenarios: readonly ScenarioName[];
  /** Worker processes per engine (the scale curve varies this). */
  readonly workers: number;
  /** Runs (jobs, workflows) each worker process advances at once. */
  readonly concurrency: number;
  /** Runs drained per linear scenario (fanout scales this down by its width). */
  readonly runs: number;
  /** Step counts of the linear scenarios. */
  readonly linearSteps: readonly number[];
  /** CPU milliseconds each step of the work scenario burns. */
  readonly workMs: number;
  /** Branch counts of the fanout scenarios. */
  readonly fanoutWidths: readonly number[];
  /** Runs of the latency probe: started one at a time on an idle fleet. */
  readonly probeRuns: number;
  /** The probe stops early after this long (once it has 5 samples). */
  readonly probeBudgetMs: number;
  /** DBOS runs this share of every N (it is an order of magnitude slower here; 1 runs the same N). */
  readonly dbosShare: number;
  /** Runs parked on a signal, then signalled by the driver. */
  readonly signals: number;
  /** Signals the driver sends per second (open loop). */
  readonly signalRate: number;
  /** Runs parked on one delay. */
  readonly sleeping: number;
  /** The delay they park on; long enough for all of them to park first. */
  readonly sleepDelayMs: number;
  /** Worker process counts of the scale curve (linear-4, and work-4 when `work` runs). */
  readonly scale: readonly number[];
  /** The Parkway namespace's partition count (each partition is one hash tag: one Cluster slot). */
  readonly partitions: number;
  /** Runs of a key the flow-control scenario's limits let execute at once. */
  readonly flowLimit: number;
  /** Keys the flow-control scenario's runs are spread over (by their index). */
  readonly flowKeys: number;
  /** How long each executor measurement runs. */
  readonly executorMs: number;
  /** How often a DBOS worker polls its queue (DBOS's default is 1000 ms). */
  readonly dbosPollMs: number;
  /** A Redis URL, or a Redis Cluster's nodes as a comma-separated list of URLs (what Parkway's `connection` takes). */
  readonly redisUrl: string;
  /** True when `redisUrl` is a Redis Cluster. */
  readonly redisCluster: boolean;
  /** Redis to start for this run (then `redisUrl` is where it answers, set once it started); null to use `redisUrl`. */
  readonly localRedis: LocalRedisSpec | null;
  /** A Postgres server URL; DBOS gets its own database on it. */
  readonly postgresUrl: string;
  readonly dbosDatabase: string;
  /** Where the JSON report goes; a timestamped file under bench/results/ when absent. */
  readonly out: string | undefined;
  /** Gives up on a scenario that has not finished in this long. */
  readonly scenarioTimeoutMs: number;
}

const USAGE = `usage: npm run bench -- [flags]

  --engines       parkway,bullmq,dbos          engines to run (Parkway is always compared against the others)
  --scenarios     linear,work,fanout,signal-driven,sleeping,executors,scale,flow-control
  --workers       2        worker processes per engine
  --concurrency   50       runs each worker process advances at once
  --runs          1000     runs drained per linear scenario (fanout-N drains runs*5/N)
  --linear        1,4,9    step counts of the linear scenarios
  --fanout        10,100   branch counts of the fanout scenarios
  --work-ms       1        CPU ms each step of the work scenario burns (work-4: linear-4 with busy steps)
  --probe         30       runs of the one-at-a-time latency probe (at most 3 s of them)
  --signals       1000     runs parked on a signal, then signalled
  --signal-rate   200      signals sent per second
  --dbos-share    0.25     share of every N that DBOS runs (1: the same N as the others)
  --sleeping      1000     runs parked on one delay (e.g. --sleeping 1000000 --engines parkway)
  --sleep-delay   auto     the delay, e.g. 30000 (default max(5s, 2ms per run))
  --scale         1,2,4    worker process counts of the scale curve: linear-4, and work-4 when work runs
                           (giving --scale runs the curve even when --scenarios leaves scale out)
  --partitions    1        partitions of the Parkway namespace, 1 to ${MAX_PARTITIONS} (spread over a Cluster's masters)
  --flow-limit    2        flow-control: runs (or step executions) of one key at once
  --flow-keys     10       flow-control: keys the runs are spread over
  --dbos-poll     20       DBOS queue polling interval in ms
  --redis         redis://127.0.0.1:6379 (env REDIS_URL), or "local": a private redis-server for this run
  --redis-cluster host:port,host:port,...   run on this Redis Cluster (any of its nodes; a list of one is fine)
                  local:N  a private Cluster of N masters (at least ${MIN_CLUSTER_MASTERS}) on spare loopback ports, removed at the end
  --postgres      postgresql://postgres@127.0.0.1:5432 (env BENCH_POSTGRES_URL)
  --out           path of the JSON report (default bench/results/bench-<time>.json)
  --smoke         a tiny configuration that only checks the harness works`;

const list = <T extends string>(value: string, allowed: readonly T[], flag: string): T[] => {
  const items = value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (items.length === 0) throw new ValidationError(`${flag} names none (use ${allowed.join(", ")})`);
  for (const item of items) {
    if (!allowed.includes(item as T)) throw new ValidationError(`${flag}: unknown "${item}" (use ${allowed.join(", ")})`);
  }
  return items as T[];
};

const positive = (value: string, flag: string, max = Number.MAX_SAFE_INTEGER): number => {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < 1 || n > max) {
    throw new ValidationError(
      `${flag} must be ${max === Number.MAX_SAFE_INTEGER ? "a positive integer" : `an integer from 1 to ${max}`}, got "${value}"`,
    );
  }
  return n;
};

const share = (value: string): number => {
  const n = Number(value);
  if (!(n > 0 && n <= 1)) throw new ValidationError(`--dbos-share must be in (0, 1], got "${value}"`);
  return n;
};

/** `--redis-cluster`: `local:N`, or nodes as `host:port` (or `redis://host:port`), comma-separated. */
function clusterFlag(value: string): Pick<BenchConfig, "redisUrl" | "redisCluster" | "localRedis"> {
  const local = /^local(?::(.*))?$/.exec(value.trim());
  if (local) {
    const masters = positive(local[1] ?? "", "--redis-cluster local:N", MAX_LOCAL_MASTERS);
    if (masters < MIN_CLUSTER_MASTERS) {
      throw new ValidationError(`--redis-cluster local:N: a Redis Cluster needs at least ${MIN_CLUSTER_MASTERS} masters, got ${masters}`);
    }
    return { redisUrl: "", redisCluster: true, localRedis: { kind: "cluster", masters } };
  }
  const nodes = value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map((node) => (node.includes("://") ? node : `redis://${node}`));
  if (nodes.length === 0) throw new ValidationError(`--redis-cluster takes host:port,host:port,... or local:N, got "${value}"`);
  // A trailing comma makes a list of one node a Cluster's (see clusterSeeds).
  const redisUrl = nodes.length === 1 ? `${nodes[0]},` : nodes.join(",");
  clusterSeeds(redisUrl, "--redis-cluster");
  return { redisUrl, redisCluster: true, localRedis: null };
}

/** Where Redis is: `--redis-cluster`, `--redis` (a URL, or "local"), REDIS_URL, or the default. */
function redisOf(
  redis: string | undefined,
  cluster: string | undefined,
  env: NodeJS.ProcessEnv,
  fallback: string,
): Pick<BenchConfig, "redisUrl" | "redisCluster" | "localRedis"> {
  if (cluster !== undefined) {
    if (redis !== undefined) throw new ValidationError(`--redis and --redis-cluster both say where Redis is: give one`);
    return clusterFlag(cluster);
  }
  if (redis !== undefined && redis.trim() === "") throw new ValidationError(`--redis takes a Redis URL or "local", got ""`);
  if (redis?.trim() === "local") return { redisUrl: "", redisCluster: false, localRedis: { kind: "server" } };
  const redisUrl = redis ?? env.REDIS_URL ?? fallback;
  return { redisUrl, redisCluster: clusterSeeds(redisUrl, redis === undefined ? "REDIS_URL" : "--redis") !== null, localRedis: null };
}

const numbers = (value: string, flag: string): number[] => value.split(",").map((s) => positive(s.trim(), flag));

/** Reads flags over the defaults. @throws ValidationError naming the bad flag (with the usage on --help). */
export function readConfig(argv: readonly string[], env: NodeJS.ProcessEnv): BenchConfig {
  const { values: v } = parseArgs({
    args: [...argv],
    options: {
      engines: { type: "string" },
      scenarios: { type: "string" },
      workers: { type: "string" },
      concurrency: { type: "string" },
      runs: { type: "string" },
      linear: { type: "string" },
      fanout: { type: "string" },
      "work-ms": { type: "string" },
      probe: { type: "string" },
      signals: { type: "string" },
      "signal-rate": { type: "string" },
      sleeping: { type: "string" },
      "sleep-delay": { type: "string" },
      scale: { type: "string" },
      partitions: { type: "string" },
      "flow-limit": { type: "string" },
      "flow-keys": { type: "string" },
      "redis-cluster": { type: "string" },
      "dbos-poll": { type: "string" },
      "dbos-share": { type: "string" },
      redis: { type: "string" },
      postgres: { type: "string" },
      out: { type: "string" },
      smoke: { type: "boolean" },
      help: { type: "boolean" },
    },
    strict: true,
  });
  if (v.help) throw new ValidationError(USAGE);
  const base = v.smoke ? SMOKE : DEFAULTS;
  const sleeping = v.sleeping !== undefined ? positive(v.sleeping, "--sleeping") : base.sleeping;
  const scenarios = v.scenarios !== undefined ? list(v.scenarios, SCENARIOS, "--scenarios") : base.scenarios;
  return {
    ...base,
    engines: v.engines !== undefined ? list(v.engines, ENGINES, "--engines") : base.engines,
    // A scale curve asked for is run, whatever else was chosen.
    scenarios: v.scale !== undefined && !scenarios.includes("scale") ? [...scenarios, "scale"] : scenarios,
    workers: v.workers !== undefined ? positive(v.workers, "--workers") : base.workers,
    concurrency: v.concurrency !== undefined ? positive(v.concurrency, "--concurrency") : base.concurrency,
    runs: v.runs !== undefined ? positive(v.runs, "--runs") : base.runs,
    linearSteps: v.linear !== undefined ? numbers(v.linear, "--linear") : base.linearSteps,
    fanoutWidths: v.fanout !== undefined ? numbers(v.fanout, "--fanout") : base.fanoutWidths,
    workMs: v["work-ms"] !== undefined ? positive(v["work-ms"], "--work-ms") : base.workMs,
    probeRuns: v.probe !== undefined ? positive(v.probe, "--probe") : base.probeRuns,
    signals: v.signals !== undefined ? positive(v.signals, "--signals") : base.signals,
    signalRate: v["signal-rate"] !== undefined ? positive(v["signal-rate"], "--signal-rate") : base.signalRate,
    sleeping,
    // Every run must be parked before the first wakes, or "wake together" measures the start-up instead.
    sleepDelayMs: v["sleep-delay"] !== undefined ? positive(v["sleep-delay"], "--sleep-delay") : Math.max(base.sleepDelayMs, sleeping * 2),
    scale: v.scale !== undefined ? numbers(v.scale, "--scale") : base.scale,
    partitions: v.partitions !== undefined ? positive(v.partitions, "--partitions", MAX_PARTITIONS) : base.partitions,
    flowLimit: v["flow-limit"] !== undefined ? positive(v["flow-limit"], "--flow-limit", MAX_LIMIT) : base.flowLimit,
    flowKeys: v["flow-keys"] !== undefined ? positive(v["flow-keys"], "--flow-keys", 10_000) : base.flowKeys,
    dbosPollMs: v["dbos-poll"] !== undefined ? positive(v["dbos-poll"], "--dbos-poll") : base.dbosPollMs,
    dbosShare: v["dbos-share"] !== undefined ? share(v["dbos-share"]) : base.dbosShare,
    ...redisOf(v.redis, v["redis-cluster"], env, base.redisUrl),
    postgresUrl: v.postgres ?? env.BENCH_POSTGRES_URL ?? base.postgresUrl,
    out: v.out,
  };
}

const DEFAULTS: BenchConfig = {
  engines: ENGINES,
  scenarios: SCENARIOS,
  workers: 2,
  concurrency: 50,
  runs: 1000,
  linearSteps: [1, 4, 9],
  fanoutWidths: [10, 100],
  workMs: 1,
  probeRuns: 30,
  probeBudgetMs: 3000,
  dbosShare: 0.25,
  signals: 1000,
  signalRate: 200,
  sleeping: 1000,
  sleepDelayMs: 5000,
  scale: [1, 2, 4],
  partitions: 1,
  flowLimit: 2,
  flowKeys: 10,
  executorMs: 700,
  dbosPollMs: 20,
  redisUrl: "redis://127.0.0.1:6379",
  redisCluster: false,
  localRedis: null,
  postgresUrl: "postgresql://postgres@127.0.0.1:5432",
  dbosDatabase: "parkway_bench_dbos",
  out: undefined,
  scenarioTimeoutMs: 120_000,
};

/** Small enough to run inside the test suite; it checks the harness, not the engines. */
const SMOKE: BenchConfig = {
  ...DEFAULTS,
  // DBOS takes seconds to launch per worker: the smoke run keeps to the engines on Redis.
  engines: ["parkway", "bullmq"],
  workers: 1,
  concurrency: 10,
  runs: 20,
  linearSteps: [4],
  fanoutWidths: [10],
  probeRuns: 3,
  signals: 10,
  signalRate: 200,
  sleeping: 10,
  sleepDelayMs: 1500,
  scale: [1, 2],
  executorMs: 50,
  scenarioTimeoutMs: 60_000,
};
