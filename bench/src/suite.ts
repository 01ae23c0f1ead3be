/**
 * Runs the configured scenarios on every configured engine, one after the
 * other (never two at once: they share the machine), and gathers the report.
 * A scenario that fails on one engine is recorded and the suite goes on.
 */
import { cpus, loadavg } from "node:os";
import { closeConnection, openConnection, type RedisConnection } from "@parkway/redis";
import pg from "pg";
import type { BenchConfig, EngineName, LocalRedisSpec } from "./config.js";
import { bullmqEngine } from "./engines/bullmq.js";
import { dbosEngine } from "./engines/dbos.js";
import { parkwayEngine } from "./engines/parkway.js";
import type { Engine, EngineFactory } from "./engines/types.js";
import { measureExecutors, type ExecutorResult } from "./executors.js";
import { compareLimits, flowControlVariants, IDLE_MS, type FlowControlResult } from "./flow-control.js";
import { Progress } from "./progress.js";
import { compareEngines, type Ratio } from "./ratios.js";
import { serversOf } from "./redis-probe.js";
import { startLocalCluster, startLocalServer, type LocalRedis } from "./redis-servers.js";
import { scaleCurves, scaleScenario, scaleShapes, type ScaleCurve } from "./scale.js";
import { drain, signalDriven, sleeping, type ScenarioContext, type ScenarioResult } from "./scenarios.js";

/** The machine and services the numbers came from. */
export interface Machine {
  readonly cpus: number;
  readonly cpuModel: string;
  /** The 1, 5 and 15 minute load averages when the suite started: other work on the machine shows here. */
  readonly loadAverage: readonly number[];
  readonly node: string;
  readonly redis: string;
  /** Which Redis: a server or a Cluster (of how many masters), given or started for this run. */
  readonly redisSetup: string;
  readonly postgres: string | null;
}

/** Everything one invocation measured. */
export interface BenchReport {
  readonly startedAt: string;
  readonly durationMs: number;
  readonly machine: Machine;
  readonly config: BenchConfig;
  /** Per engine: how it was set up, where it differs from defaults. */
  readonly notes: Readonly<Partial<Record<EngineName, readonly string[]>>>;
  readonly results: readonly ScenarioResult[];
  readonly executors: readonly ExecutorResult[];
  readonly ratios: readonly Ratio[];
  /** Throughput and what ran out, by worker processes, per shape and engine. */
  readonly scale: readonly ScaleCurve[];
  /** Each flow-control limit against the unlimited drain. */
  readonly flowControl: readonly FlowControlResult[];
  readonly failures: readonly { readonly task: string; readonly error: string }[];
}

const FACTORIES: Record<EngineName, EngineFactory> = {
  parkway: parkwayEngine,
  bullmq: bullmqEngine,
  dbos: (config) => dbosEngine(config),
};

interface Task {
  readonly label: string;
  readonly run: (ctx: ScenarioContext) => Promise<void>;
}

/** Runs the suite. Resolves with the report even when some scenarios failed (they are listed in `failures`). */
export async function runSuite(given: BenchConfig): Promise<BenchReport> {
  const startedAt = new Date();
  const load = loadavg().map((n) => Math.round(n * 100) / 100);
  const local = given.localRedis ? await startLocal(given.localRedis) : null;
  const config = local ? { ...given, redisUrl: local.url } : given;
  const { redis } = openConnection(config.redisUrl, "bench");
  const failures: { task: string; error: string }[] = [];
  const engines: Engine[] = [];
  try {
    for (const name of config.engines) {
      try {
        engines.push(await FACTORIES[name](config, redis));
      } catch (error) {
        failures.push({ task: `set up ${name}`, error: describe(error) });
      }
    }
    const results: ScenarioResult[] = [];
    const executors: ExecutorResult[] = [];
    const tasks = plan(config, engines, results, executors);
    const progress = new Progress(tasks.length);
    for (const f of failures) progress.note(`bench: ${f.task} failed: ${f.error}`);
    const ctx: ScenarioContext = { config, redis, progress };
    for (const task of tasks) {
      progress.begin(task.label);
      try {
        await task.run(ctx);
      } catch (error) {
        failures.push({ task: task.label, error: describe(error) });
        progress.note(`bench: ${task.label} failed: ${describe(error)}`);
      }
      progress.end();
    }
    progress.finish();
    return {
      startedAt: startedAt.toISOString(),
      durationMs: Date.now() - startedAt.getTime(),
      machine: await describeMachine(redis, config, load),
      config,
      notes: Object.fromEntries(engines.map((e) => [e.name, e.notes])),
      results,
      executors,
      ratios: compareEngines(results),
      scale: scaleCurves(config, results),
      flowControl: config.scenarios.includes("flow-control") ? compareLimits(flowControlVariants(config), results) : [],
      failures,
    };
  } finally {
    await Promise.all(
      engines.map((e) => e.dispose().catch((error: unknown) => failures.push({ task: `dispose ${e.name}`, error: describe(error) }))),
    );
    await closeConnection(redis);
    await local?.stop();
  }
}

/** Starts the Redis the run asked for: `--redis local` or `--redis-cluster local:N`. */
function startLocal(spec: LocalRedisSpec): Promise<LocalRedis> {
  return spec.kind === "server" ? startLocalServer() : startLocalCluster(spec.masters);
}

/** Every (scenario, engine) task, in order; each pushes its result. */
function plan(config: BenchConfig, engines: readonly Engine[], results: ScenarioResult[], executors: ExecutorResult[]): Task[] {
  const tasks: Task[] = [];
  const add = (label: string, run: (ctx: ScenarioContext) => Promise<void>) => tasks.push({ label, run });
  const want = (s: BenchConfig["scenarios"][number]) => config.scenarios.includes(s);
  if (want("linear")) {
    for (const steps of config.linearSteps) {
      for (const e of engines) {
        add(`linear-${steps} · ${e.name}`, async (c) => {
          results.push(await drain(c, e, `linear-${steps}`, { kind: "linear", steps }, config.runs, config.workers, config.probeRuns));
        });
      }
    }
  }
  if (want("work")) {
    // linear-4 whose steps each burn workMs of CPU: the engine's cost next to steps that do something.
    const shape = { kind: "linear", steps: 4, workMs: config.workMs } as const;
    for (const e of engines) {
      add(`work-4 · ${e.name}`, async (c) => {
        results.push(await drain(c, e, "work-4", shape, config.runs, config.workers, config.probeRuns));
      });
    }
  }
  if (want("fanout")) {
    for (const branches of config.fanoutWidths) {
      // Wider runs, fewer of them: about the same number of steps per scenario.
      const runs = Math.max(10, Math.round((config.runs * 5) / branches));
      const probe = Math.max(Math.min(config.probeRuns, 10), Math.round((config.probeRuns * 10) / branches));
      for (const e of engines) {
        add(`fanout-${branches} · ${e.name}`, async (c) => {
          results.push(await drain(c, e, `fanout-${branches}`, { kind: "fanout", branches }, runs, config.workers, probe));
        });
      }
    }
  }
  if (want("signal-driven")) {
    for (const e of engines) add(`signal-driven · ${e.name}`, async (c) => void results.push(await signalDriven(c, e, config.signals)));
  }
  if (want("sleeping")) {
    for (const e of engines) add(`sleeping · ${e.name}`, async (c) => void results.push(await sleeping(c, e, config.sleeping)));
  }
  if (want("executors")) {
    const steps = Math.max(...config.linearSteps);
    add(`executors · runSync/runAsync vs hand-written, ${steps} steps`, async () => {
      executors.push(...(await measureExecutors(steps, config.executorMs)));
    });
  }
  if (want("scale")) {
    for (const { name, shape } of scaleShapes(config)) {
      for (const workers of config.scale) {
        for (const e of engines) {
          add(`${scaleScenario(name, workers)} workers · ${e.name}`, async (c) => {
            // The default worker count was just measured by the shape's own scenario: reuse it rather than run it twice.
            const same = results.find((r) => r.scenario === name && r.engine === e.name && r.workers === workers);
            const result = same ?? (await drain(c, e, name, shape, config.runs, workers, 0));
            results.push({ ...result, scenario: scaleScenario(name, workers) });
          });
        }
      }
    }
  }
  // Parkway only: BullMQ and DBOS have no keyed concurrency limits to compare (see flow-control.ts).
  const parkway = engines.find((e) => e.name === "parkway");
  if (want("flow-control") && parkway) {
    for (const variant of flowControlVariants(config)) {
      add(`${variant.scenario} · parkway`, async (c) => {
        results.push(await drain(c, parkway, variant.scenario, variant.shape, config.runs, config.workers, 0, IDLE_MS));
      });
    }
  }
  return tasks;
}

async function describeMachine(redis: RedisConnection, config: BenchConfig, loadAverage: readonly number[]): Promise<Machine> {
  const [server] = await serversOf(redis);
  const info = await server!.info("server");
  const version = /^redis_version:(.+)$/m.exec(info)?.[1]?.trim() ?? "?";
  const aof = await server!
    .config("GET", "appendonly")
    .then((r) => `appendonly ${String((r as string[])[1])}`)
    .catch(() => "appendonly ?");
  const masters = (await serversOf(redis)).length;
  const kind = config.redisCluster ? `a Redis Cluster of ${masters} masters` : "one redis-server";
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? "?",
    loadAverage,
    node: process.version,
    redis: `${version} (${aof})`,
    redisSetup: config.localRedis ? `${kind}, private, started for this run` : `${kind} at ${config.redisUrl}`,
    postgres: config.engines.includes("dbos") ? await describePostgres(config).catch(() => null) : null,
  };
}

async function describePostgres(config: BenchConfig): Promise<string> {
  const client = new pg.Client({ connectionString: config.postgresUrl });
  await client.connect();
  try {
    const setting = async (name: string) => (await client.query<{ v: string }>(`SELECT current_setting($1) AS v`, [name])).rows[0]?.v;
    const version = (await setting("server_version")) ?? "?";
    return `${version} (fsync ${await setting("fsync")}, synchronous_commit ${await setting("synchronous_commit")})`;
  } finally {
    await client.end();
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
