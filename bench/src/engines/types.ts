/**
 * What the scenarios ask of an engine. Each engine (Parkway and its peers)
 * implements the same few operations over its own client and its own worker
 * processes, so a scenario is written once and runs the same work on each.
 */
import type { RedisConnection } from "@parkway/redis";
import type { BenchConfig, EngineName } from "../config.js";
import type { EventLog } from "../events.js";

/**
 * The work one run does. Every run takes a number as input and its steps
 * return it unchanged: the engines' own cost is what is measured.
 */
export type Shape =
  /**
   * `steps` steps in a chain: no-ops, or each a busy loop of `workMs` of CPU (the `work` scenario);
   * under a concurrency limit in the flow-control scenario (Parkway only).
   */
  | { readonly kind: "linear"; readonly steps: number; readonly workMs?: number; readonly limit?: LimitShape }
  /** `branches` no-op branches, then a join step. */
  | { readonly kind: "fanout"; readonly branches: number }
  /** Parks on signal "go", then one step. */
  | { readonly kind: "signal" }
  /** A step, a durable delay of `delayMs`, then one step. */
  | { readonly kind: "sleep"; readonly delayMs: number };

/**
 * A concurrency limit per key: at most `perKey` runs of a key executing steps (`on: "run"`, the
 * flow's limit), or executions of each step's task (`on: "task"`, every step limited). Run `n`'s
 * key is `k<n mod keys>`.
 */
export interface LimitShape {
  readonly on: "run" | "task";
  readonly perKey: number;
  readonly keys: number;
}

/** Logical steps of a run of `shape`, counted the same way for every engine. */
export function stepsOf(shape: Shape): number {
  switch (shape.kind) {
    case "linear":
      return shape.steps;
    case "fanout":
      return shape.branches + 1;
    case "signal":
      return 2;
    case "sleep":
      return 3;
  }
}

/**
 * A name for logs, ids and queue names: `linear-4`, `work-4`, `linear-4-run-limit-2`, `fanout-10`,
 * `signal`, `sleep`.
 */
export function shapeName(shape: Shape): string {
  if (shape.kind === "linear") {
    const chain = shape.workMs ? `work-${shape.steps}` : `linear-${shape.steps}`;
    return shape.limit ? `${chain}-${shape.limit.on}-limit-${shape.limit.perKey}` : chain;
  }
  if (shape.kind === "fanout") return `fanout-${shape.branches}`;
  return shape.kind;
}

/** What a session is opened for. */
export interface SessionOptions {
  readonly shape: Shape;
  readonly workers: number;
  /** Runs each worker process advances at once. */
  readonly concurrency: number;
  /** Runs that will be parked at once (an engine that keeps a parked run in a worker slot sizes for it). */
  readonly parked: number;
  readonly events: EventLog;
  readonly config: BenchConfig;
  /** Every run id of the session starts with this. */
  readonly runPrefix: string;
}

/**
 * One scenario on one engine: its own namespace, queue or prefix, its own
 * worker processes; everything it stored is removed by `close`.
 *
 * Runs report to `events`: `first` when their first step starts, `armed` and
 * `resumed` around a park, and `done` when they finish.
 */
export interface EngineSession {
  /** Starts one run; resolves once the engine holds it durably. */
  start(run: string): Promise<void>;
  /** Starts the worker processes; resolves once every one consumes. */
  startWorkers(): Promise<void>;
  /** Delivers the signal a run of the `signal` shape waits for. */
  signal(run: string): Promise<void>;
  /** How many runs are parked now (`signal` and `sleep` shapes). */
  parked(): Promise<number>;
  /** The process ids of the workers started (to read their CPU time). */
  workerPids(): readonly number[];
  /** Stops the workers and removes everything the session stored. */
  close(): Promise<void>;
}

/** An engine under test. */
export interface Engine {
  readonly name: EngineName;
  /** The share of every N this engine runs (a much slower peer runs fewer, to fit the time budget). */
  readonly share: number;
  /** True when its state lives in Redis: the scenario then reads Redis command and memory costs. */
  readonly onRedis: boolean;
  /** Notes for the report (settings that differ from the engine's defaults, what a peer uses for a missing primitive). */
  readonly notes: readonly string[];
  open(options: SessionOptions): Promise<EngineSession>;
  /** Releases what the engine shares across sessions (connections, a database). */
  dispose(): Promise<void>;
}

/** How many runs `engine` does of a scenario sized `n` for the others. */
export function runsFor(engine: Engine, n: number): number {
  return engine.share >= 1 ? n : Math.max(Math.min(n, 10), Math.round(n * engine.share));
}

/** Creates engines; each may prepare shared resources first (DBOS: its database). */
export type EngineFactory = (config: BenchConfig, redis: RedisConnection) => Promise<Engine>;
