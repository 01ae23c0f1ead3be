/**
 * The scale curve: the same backlog drained by 1, 2, 4, ... worker processes.
 * Next to each point's throughput it keeps what ran out: the workers' CPU and
 * Redis's (the busiest master's, on a Cluster), and the whole machine's, in
 * cores. Where adding workers stops helping, one of them is near its ceiling:
 * a Redis master near 1 core, or the machine near all its cores (workers and
 * Redis, or other work on a shared machine).
 */
import type { BenchConfig, EngineName } from "./config.js";
import type { Shape } from "./engines/types.js";
import type { ScenarioResult } from "./scenarios.js";
import { round } from "./stats.js";

/** A shape the curve drains, with the scenario whose default-worker drain it can reuse. */
export interface ScaleShape {
  readonly name: "linear-4" | "work-4";
  readonly shape: Shape;
}

/** One point of a curve. */
export interface ScalePoint {
  readonly workers: number;
  readonly workflowsPerSec: number | null;
  /** The rate once every worker was consuming (see `ScenarioResult.allWorkersWorkflowsPerSec`). */
  readonly allWorkersWorkflowsPerSec: number | null;
  /** The all-workers rate ÷ the curve's first point's (the whole-drain rates where a point has none). */
  readonly speedup: number | null;
  readonly redisBusyCores: number | null;
  readonly busiestMasterCores: number | null;
  readonly workerCpuCores: number | null;
  readonly machineBusyCores: number | null;
}

/** The curve of one shape on one engine. */
export interface ScaleCurve {
  readonly shape: string;
  readonly engine: EngineName;
  readonly points: readonly ScalePoint[];
}

/** The scenario name of a point: `scale linear-4 ×2`. */
export function scaleScenario(shape: ScaleShape["name"], workers: number): string {
  return `scale ${shape} ×${workers}`;
}

/** The shapes of the curve: those of the drain scenarios chosen (linear-4 when neither linear nor work is). */
export function scaleShapes(config: BenchConfig): ScaleShape[] {
  const linear: ScaleShape = { name: "linear-4", shape: { kind: "linear", steps: 4 } };
  const work: ScaleShape = { name: "work-4", shape: { kind: "linear", steps: 4, workMs: config.workMs } };
  const chosen = [...(config.scenarios.includes("linear") ? [linear] : []), ...(config.scenarios.includes("work") ? [work] : [])];
  return chosen.length > 0 ? chosen : [linear];
}

/** Every curve measured, its points in worker order. */
export function scaleCurves(config: BenchConfig, results: readonly ScenarioResult[]): ScaleCurve[] {
  const curves: ScaleCurve[] = [];
  for (const { name } of scaleShapes(config)) {
    for (const engine of new Set(results.map((r) => r.engine))) {
      const points = config.scale.flatMap((workers) => {
        const r = results.find((x) => x.engine === engine && x.scenario === scaleScenario(name, workers));
        return r ? [r] : [];
      });
      if (points.length === 0) continue;
      // One basis for the whole curve: the all-workers rate when every point has one.
      const allUp = points.every((r) => r.allWorkersWorkflowsPerSec !== null);
      const rate = (r: ScenarioResult) => (allUp ? r.allWorkersWorkflowsPerSec : r.workflowsPerSec);
      const first = rate(points[0]!);
      curves.push({
        shape: name,
        engine,
        points: points.map((r) => ({
          workers: r.workers,
          workflowsPerSec: r.workflowsPerSec,
          allWorkersWorkflowsPerSec: r.allWorkersWorkflowsPerSec,
          speedup: rate(r) !== null && first ? round(rate(r)! / first, 2) : null,
          redisBusyCores: r.redisBusyCores,
          busiestMasterCores: r.busiestMasterCores,
          workerCpuCores: r.workerCpuCores,
          machineBusyCores: r.machineBusyCores,
        })),
      });
    }
  }
  return curves;
}
