/**
 * What one invocation of the suite runs: engines, scenarios, sizes and the
 * services to use. Defaults finish in a few minutes on a 2-core machine; every
 * size has a flag, so the same code runs 1,000,000 sleeping runs when asked.
 */
import { parseArgs } from "node:util";

/** The engines compared. Parkway is always the subject; the others are peers. */
export const ENGINES = ["parkway", "bullmq", "dbos"] as const;
/** One of {@link ENGINES}. */
export type EngineName = (typeof ENGINES)[number];

/** Scenario families, named as the reference engine names them. */
export const SCENARIOS = ["linear", "work", "fanout", "signal-driven", "sleeping", "executors", "scale"] as const;
/** One of {@link SCENARIOS}. */
export type ScenarioName = (typeof SCENARIOS)[number];

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
  /** Worker process counts of the linear-4 scale curve. */
  readonly scale: readonly number[];
  /** How long each executor measurement runs. */
  readonly executorMs: number;
  /** How often a DBOS worker polls its queue (DBOS's default is 1000 ms). */
  readonly dbosPollMs: number;
  readonly redisUrl: string;
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
  --scenarios     linear,work,fanout,signal-driven,sleeping,executors,scale
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
  --scale         1,2,4    worker process counts of the linear-4 scale curve
  --dbos-poll     20       DBOS queue polling interval in ms
  --redis         redis://127.0.0.1:6379 (env REDIS_URL)
  --postgres      postgresql://postgres@127.0.0.1:5432 (env BENCH_POSTGRES_URL)
  --out           path of the JSON report (default bench/results/bench-<time>.json)
  --smoke         a tiny configuration that only checks the harness works`;

const list = <T extends string>(value: string, allowed: readonly T[], flag: string): T[] => {
  const items = value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  for (const item of items) if (!allowed.includes(item as T)) throw new Error(`${flag}: unknown "${item}" (use ${allowed.join(", ")})`);
  return items as T[];
};

const positive = (value: string, flag: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a positive integer, got "${value}"`);
  return n;
};

const share = (value: string): number => {
  const n = Number(value);
  if (!(n > 0 && n <= 1)) throw new Error(`--dbos-share must be in (0, 1], got "${value}"`);
  return n;
};

const numbers = (value: string, flag: string): number[] => value.split(",").map((s) => positive(s.trim(), flag));

/** Reads flags over the defaults. @throws Error naming the bad flag (with the usage on --help). */
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
  if (v.help) throw new Error(USAGE);
  const base = v.smoke ? SMOKE : DEFAULTS;
  const sleeping = v.sleeping ? positive(v.sleeping, "--sleeping") : base.sleeping;
  return {
    ...base,
    engines: v.engines ? list(v.engines, ENGINES, "--engines") : base.engines,
    scenarios: v.scenarios ? list(v.scenarios, SCENARIOS, "--scenarios") : base.scenarios,
    workers: v.workers ? positive(v.workers, "--workers") : base.workers,
    concurrency: v.concurrency ? positive(v.concurrency, "--concurrency") : base.concurrency,
    runs: v.runs ? positive(v.runs, "--runs") : base.runs,
    linearSteps: v.linear ? numbers(v.linear, "--linear") : base.linearSteps,
    fanoutWidths: v.fanout ? numbers(v.fanout, "--fanout") : base.fanoutWidths,
    workMs: v["work-ms"] ? positive(v["work-ms"], "--work-ms") : base.workMs,
    probeRuns: v.probe ? positive(v.probe, "--probe") : base.probeRuns,
    signals: v.signals ? positive(v.signals, "--signals") : base.signals,
    signalRate: v["signal-rate"] ? positive(v["signal-rate"], "--signal-rate") : base.signalRate,
    sleeping,
    // Every run must be parked before the first wakes, or "wake together" measures the start-up instead.
    sleepDelayMs: v["sleep-delay"] ? positive(v["sleep-delay"], "--sleep-delay") : Math.max(base.sleepDelayMs, sleeping * 2),
    scale: v.scale ? numbers(v.scale, "--scale") : base.scale,
    dbosPollMs: v["dbos-poll"] ? positive(v["dbos-poll"], "--dbos-poll") : base.dbosPollMs,
    dbosShare: v["dbos-share"] ? share(v["dbos-share"]) : base.dbosShare,
    redisUrl: v.redis ?? env.REDIS_URL ?? base.redisUrl,
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
  executorMs: 700,
  dbosPollMs: 20,
  redisUrl: "redis://127.0.0.1:6379",
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
