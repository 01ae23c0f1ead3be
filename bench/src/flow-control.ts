/**
 * The flow-control scenario: what a concurrency limit costs. The same
 * linear-4 backlog, its runs spread over `--flow-keys` keys, is drained
 * without limits and under limits of `--flow-limit` per key, on Parkway only:
 * BullMQ has no keyed concurrency limit (its Pro edition's groups are the
 * nearest), so the reference is the unlimited drain of the same invocation.
 *
 * - `none`: no limit.
 * - `run never full`: a flow limit per key as large as the fleet's slots, so
 *   it never refuses: the cost of an admission (admit, then give back) alone.
 * - `run N/key`: `flow(name, { concurrency: { limit: N, key } })`: at most N
 *   runs of a key executing; the others park on a slot wait and are woken as
 *   slots free.
 * - `task N/key`: every step's task limited to N executions per key.
 *
 * Costs per admission (a slot granted: one per run for a flow limit, one per
 * step for task limits) are the limited drain's Redis CPU and commands less
 * the unlimited drain's, refusals, parks and wake-ups included. The CPU leaves
 * out the idle fleet's polling first (measured for a second after each
 * drain): a limit that slows the drain would otherwise be charged for the
 * polling of the longer drain.
 */
import type { BenchConfig } from "./config.js";
import type { LimitShape, Shape } from "./engines/types.js";
import type { ScenarioResult } from "./scenarios.js";
import { round } from "./stats.js";

/** Steps of the flow-control runs: linear-4, as the scale curve. */
const STEPS = 4;
/** How long each drain's idle fleet is watched, for its polling's cost. */
export const IDLE_MS = 1000;

/** One drain of the scenario. */
export interface FlowControlVariant {
  /** The scenario name its result carries: `flow-control <variant>`. */
  readonly scenario: string;
  readonly shape: Shape;
  /** Slots a run is granted: 0 without a limit. */
  readonly admissionsPerRun: number;
}

/** What a limit did to the drain, against the unlimited drain of the same invocation. */
export interface FlowControlResult {
  readonly scenario: string;
  readonly limit: LimitShape | null;
  readonly admissionsPerRun: number;
  readonly workflowsPerSec: number | null;
  /** This drain's workflows/s ÷ the unlimited drain's. */
  readonly throughputRatio: number | null;
  /** Redis CPU µs per run, less the idle fleet's polling. */
  readonly redisCpuUsPerRun: number | null;
  /** (Redis CPU µs of this drain − of the unlimited one, each less the idle fleet's polling) ÷ slots granted. */
  readonly redisCpuUsPerAdmission: number | null;
  /** (Commands Redis ran − the unlimited drain's) ÷ slots granted, those inside scripts included. */
  readonly commandsPerAdmission: number | null;
  /** (Client calls − the unlimited drain's) ÷ slots granted: a script counts once. */
  readonly callsPerAdmission: number | null;
}

/** The drains of the scenario, the unlimited one first. */
export function flowControlVariants(config: BenchConfig): FlowControlVariant[] {
  const keys = config.flowKeys;
  const limited = (on: LimitShape["on"], perKey: number, label: string): FlowControlVariant => ({
    scenario: `flow-control ${label}`,
    shape: { kind: "linear", steps: STEPS, limit: { on, perKey, keys } },
    admissionsPerRun: on === "run" ? 1 : STEPS,
  });
  // No more runs execute at once than the fleet has slots: a limit that large is never full.
  const fleet = config.workers * config.concurrency;
  return [
    { scenario: "flow-control none", shape: { kind: "linear", steps: STEPS }, admissionsPerRun: 0 },
    limited("run", fleet, "run never full"),
    limited("run", config.flowLimit, `run ${config.flowLimit}/key`),
    limited("task", config.flowLimit, `task ${config.flowLimit}/key`),
  ];
}

/** Each limited drain against the unlimited one; empty when the unlimited drain did not finish. */
export function compareLimits(variants: readonly FlowControlVariant[], results: readonly ScenarioResult[]): FlowControlResult[] {
  const resultOf = (v: FlowControlVariant) => results.find((r) => r.scenario === v.scenario && r.engine === "parkway");
  const base = variants[0] && resultOf(variants[0]);
  if (!base) return [];
  const perAdmission = (value: (r: ScenarioResult) => number | null, r: ScenarioResult, admissions: number, digits: number) => {
    const a = value(r);
    const b = value(base);
    return a === null || b === null || admissions === 0 ? null : round((a - b) / admissions, digits);
  };
  return variants.flatMap((variant) => {
    const r = resultOf(variant);
    if (!r) return [];
    const admissions = r.runs * variant.admissionsPerRun;
    const ratio = r.workflowsPerSec !== null && base.workflowsPerSec ? round(r.workflowsPerSec / base.workflowsPerSec, 2) : null;
    return [
      {
        scenario: variant.scenario,
        limit: variant.shape.kind === "linear" ? (variant.shape.limit ?? null) : null,
        admissionsPerRun: variant.admissionsPerRun,
        workflowsPerSec: r.workflowsPerSec,
        throughputRatio: ratio,
        redisCpuUsPerRun: r.redisCpuUsPerRunLessIdle,
        redisCpuUsPerAdmission: perAdmission(totalCpuUs, r, admissions, 1),
        commandsPerAdmission: perAdmission(totalCommands, r, admissions, 2),
        callsPerAdmission: perAdmission(totalCalls, r, admissions, 2),
      },
    ];
  });
}

const totalCpuUs = (r: ScenarioResult) => (r.redisCpuUsPerRunLessIdle === null ? null : r.redisCpuUsPerRunLessIdle * r.runs);
const totalCommands = (r: ScenarioResult) => (r.redisCommands === null ? null : Object.values(r.redisCommands).reduce((a, b) => a + b, 0));
const totalCalls = (r: ScenarioResult) => (r.callsPerStep === null ? null : r.callsPerStep * r.runs * r.stepsPerRun);
