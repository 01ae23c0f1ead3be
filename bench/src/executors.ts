/**
 * The `executors` scenario: what Parkway's in-process executors cost per step
 * against the code a user would write by hand for the same chain — a plain
 * call chain for `runSync`, an await loop for `runAsync`. In process, no I/O.
 */
import { flow, runAsync, runSync, type Workflow } from "@parkway/core";
import { round } from "./stats.js";

/** One executor against its hand-written equivalent. Times in nanoseconds. */
export interface ExecutorResult {
  readonly executor: "runSync" | "runAsync";
  readonly steps: number;
  readonly parkwayNsPerStep: number;
  readonly handNsPerStep: number;
  /** What the executor adds per step. */
  readonly overheadNsPerStep: number;
  /** parkway / hand-written time. */
  readonly ratio: number;
}

// Read by every measured loop, so no engine can drop a computation whose result nobody uses.
let sink = 0;

/** Measures `runSync` and `runAsync` on a chain of `steps` tasks, each for about `budgetMs`. */
export async function measureExecutors(steps: number, budgetMs: number): Promise<ExecutorResult[]> {
  const fns = Array.from({ length: steps }, (_, i) => (x: number) => x + i);
  const asyncFns = fns.map((f) => async (x: number) => f(x));
  const syncFlow = chain("executors-sync", fns);
  const asyncFlow = chain("executors-async", asyncFns);

  const handSync = measureSync(() => {
    let x = sink & 1;
    for (const f of fns) x = f(x);
    sink += x;
  }, budgetMs);
  const parkwaySync = measureSync(() => {
    sink += runSync(syncFlow, sink & 1);
  }, budgetMs);
  const handAsync = await measureAsync(async () => {
    let x = sink & 1;
    for (const f of asyncFns) x = await f(x);
    sink += x;
  }, budgetMs);
  const parkwayAsync = await measureAsync(async () => {
    sink += await runAsync(asyncFlow, sink & 1);
  }, budgetMs);
  return [result("runSync", steps, parkwaySync, handSync), result("runAsync", steps, parkwayAsync, handAsync)];
}

function chain(name: string, fns: readonly ((x: number) => number | Promise<number>)[]): Workflow<number, number> {
  let builder = flow<number>(name).then("s0", fns[0]!);
  fns.slice(1).forEach((f, i) => (builder = builder.then(`s${i + 1}`, f)));
  return builder.build();
}

function result(executor: ExecutorResult["executor"], steps: number, parkwayNsPerRun: number, handNsPerRun: number): ExecutorResult {
  return {
    executor,
    steps,
    parkwayNsPerStep: round(parkwayNsPerRun / steps, 1),
    handNsPerStep: round(handNsPerRun / steps, 1),
    overheadNsPerStep: round((parkwayNsPerRun - handNsPerRun) / steps, 1),
    ratio: round(parkwayNsPerRun / Math.max(handNsPerRun, 0.001), 1),
  };
}

/** Nanoseconds per call: a warm-up, then batches until the budget is spent. */
function measureSync(fn: () => void, budgetMs: number): number {
  const until = (ms: number) => {
    const end = process.hrtime.bigint() + BigInt(Math.round(ms * 1e6));
    let calls = 0;
    const start = process.hrtime.bigint();
    while (process.hrtime.bigint() < end) {
      for (let i = 0; i < 100; i++) fn();
      calls += 100;
    }
    return Number(process.hrtime.bigint() - start) / calls;
  };
  until(budgetMs / 4);
  return until(budgetMs);
}

async function measureAsync(fn: () => Promise<void>, budgetMs: number): Promise<number> {
  const until = async (ms: number) => {
    const end = process.hrtime.bigint() + BigInt(Math.round(ms * 1e6));
    let calls = 0;
    const start = process.hrtime.bigint();
    while (process.hrtime.bigint() < end) {
      for (let i = 0; i < 100; i++) await fn();
      calls += 100;
    }
    return Number(process.hrtime.bigint() - start) / calls;
  };
  await until(budgetMs / 4);
  return until(budgetMs);
}
