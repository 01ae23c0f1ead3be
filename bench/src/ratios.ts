/**
 * Parkway / peer, per scenario, on the metric that scenario is about. Every
 * performance claim the project makes is one of these ratios, measured on
 * the same machine in the same invocation.
 */
import type { EngineName } from "./config.js";
import type { ScenarioResult } from "./scenarios.js";

/** One comparison. `ratio` = parkway / peer; `better` says which side of 1 favours Parkway. */
export interface Ratio {
  readonly scenario: string;
  readonly peer: EngineName;
  readonly metric: string;
  readonly parkway: number;
  readonly peerValue: number;
  readonly ratio: number;
  /** "higher": a ratio above 1 means Parkway is better; "lower": below 1 does. */
  readonly better: "higher" | "lower";
}

interface Metric {
  readonly name: string;
  readonly better: "higher" | "lower";
  readonly read: (r: ScenarioResult) => number | null | undefined;
}

const THROUGHPUT: Metric = { name: "workflows/s", better: "higher", read: (r) => r.workflowsPerSec };
const E2E_P50: Metric = { name: "end-to-end p50", better: "lower", read: (r) => r.endToEnd?.p50 };
const SIGNAL_P50: Metric = { name: "signal → step p50", better: "lower", read: (r) => r.signalToStep?.p50 };
const SIGNAL_P99: Metric = { name: "signal → step p99", better: "lower", read: (r) => r.signalToStep?.p99 };
const WAKE_P50: Metric = { name: "wake lateness p50", better: "lower", read: (r) => r.wakeLateness?.p50 };
const WAKE_P99: Metric = { name: "wake lateness p99", better: "lower", read: (r) => r.wakeLateness?.p99 };
const MEMORY: Metric = { name: "bytes per parked run", better: "lower", read: (r) => r.bytesPerParkedRun };
const CALLS: Metric = { name: "Redis calls per step", better: "lower", read: (r) => r.callsPerStep };
const REDIS_CPU: Metric = { name: "Redis CPU µs per step", better: "lower", read: (r) => r.redisCpuUsPerStep };

function metricsOf(scenario: string): readonly Metric[] {
  if (scenario === "signal-driven") return [SIGNAL_P50, SIGNAL_P99, MEMORY];
  if (scenario === "sleeping") return [WAKE_P50, WAKE_P99, MEMORY];
  if (scenario.startsWith("scale")) return [THROUGHPUT];
  return [THROUGHPUT, E2E_P50, CALLS, REDIS_CPU];
}

/** Parkway against each peer that ran the same scenario. */
export function compareEngines(results: readonly ScenarioResult[]): Ratio[] {
  const ratios: Ratio[] = [];
  for (const ours of results.filter((r) => r.engine === "parkway")) {
    for (const peer of results.filter((r) => r.scenario === ours.scenario && r.engine !== "parkway")) {
      for (const metric of metricsOf(ours.scenario)) {
        const a = metric.read(ours);
        const b = metric.read(peer);
        // A ratio against (near) zero says nothing: a peer that is 0.01 ms late is not "infinitely" better.
        if (a === null || a === undefined || b === null || b === undefined || Math.abs(b) < 0.05) continue;
        ratios.push({
          scenario: ours.scenario,
          peer: peer.engine,
          metric: metric.name,
          parkway: a,
          peerValue: b,
          ratio: Math.round((a / b) * 100) / 100,
          better: metric.better,
        });
      }
    }
  }
  return ratios;
}
