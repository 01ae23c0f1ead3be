/**
 * The Parkway workflows of the bench. The harness builds them to start runs;
 * `apps/worker` loads this module (`--workflows`) and runs the one named by
 * `BENCH_SHAPE`, so both sides hold the same definition and hash. Steps are
 * no-ops except for the few that record a timestamp for the harness.
 */
import { branch, flow, task, type TaskContext, type Workflow } from "@parkway/core";
import { createRecorder, exitWithParent } from "../events.js";
import { burnCpu } from "../work.js";
import { shapeName, type Shape } from "./types.js";

const record = createRecorder();

const same = (x: number) => x;
const first = (x: number, ctx: TaskContext) => {
  record("first", ctx.instanceId);
  return x;
};
const armed = (x: number, ctx: TaskContext) => {
  record("armed", ctx.instanceId);
  return x;
};
const resumed = (x: number, ctx: TaskContext) => {
  record("resumed", ctx.instanceId);
  return x;
};

/** The workflow that runs `shape`, named by {@link shapeName}. */
export function workflowFor(shape: Shape): Workflow<number, unknown> {
  const name = shapeName(shape);
  switch (shape.kind) {
    case "linear": {
      const workMs = shape.workMs ?? 0;
      const work = (x: number) => (burnCpu(workMs), x);
      // The flow-control scenario: run n (its input) counts against key k<n mod keys>.
      const { limit } = shape;
      const concurrency = limit && { concurrency: { limit: limit.perKey, key: (x: number) => `k${x % limit.keys}` } };
      const runLimit = limit?.on === "run" ? concurrency : undefined;
      const stepLimit = limit?.on === "task" ? concurrency : undefined;
      const step = (id: string, fn: (x: number, ctx: TaskContext) => number) => task(id, fn, stepLimit);
      let chain = flow<number>(name, runLimit).then(step("s1", (x, ctx) => work(first(x, ctx))));
      for (let i = 2; i <= shape.steps; i++) chain = chain.then(step(`s${i}`, workMs > 0 ? work : same));
      return chain.build();
    }
    case "fanout": {
      // Every branch records `first`: the harness keeps the earliest.
      const branches = Array.from({ length: shape.branches }, (_, i) => branch(`b${i}`, task(`b${i}`, first)));
      return flow<number>(name)
        .fork(branches)
        .join("join", (outputs) => Object.keys(outputs).length)
        .build();
    }
    case "signal":
      return flow<number>(name).waitForSignal<number>("wait", "go").then("after", resumed).build();
    case "sleep":
      return flow<number>(name).then("arm", armed).delay("nap", shape.delayMs).then("woke", resumed).build();
  }
}

/** The shape a worker process was started for, from `BENCH_SHAPE` (JSON). */
function shapeFromEnv(): Shape | null {
  const text = process.env.BENCH_SHAPE;
  return text ? (JSON.parse(text) as Shape) : null;
}

const shape = shapeFromEnv();
// Loaded by a worker the harness started: leave with the harness.
if (shape) exitWithParent();

/** What `apps/worker` registers: the workflow of `BENCH_SHAPE`. */
export const workflows: Workflow<number, unknown>[] = shape ? [workflowFor(shape)] : [];
