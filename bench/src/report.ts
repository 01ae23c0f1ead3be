/**
 * The report: a table for the terminal and the same data as JSON under
 * bench/results/.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Percentiles } from "./stats.js";
import type { BenchReport } from "./suite.js";

/** bench/results/, next to this package's dist/. */
const RESULTS_DIR = fileURLToPath(new URL("../results/", import.meta.url));

/** Writes the JSON report; returns its path. */
export async function writeReport(report: BenchReport, out: string | undefined): Promise<string> {
  const path = out ? resolve(out) : resolve(RESULTS_DIR, `bench-${report.startedAt.replace(/[:.]/g, "-")}.json`);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(report, null, 2)}\n`);
  return path;
}

type Cell = string;

/** Left-aligns the first two columns, right-aligns the rest. */
function table(header: readonly Cell[], rows: readonly (readonly Cell[])[], leftColumns = 2): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly Cell[]) =>
    cells
      .map((c, i) => (i < leftColumns ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

const num = (v: number | null | undefined, digits = 0): Cell =>
  v === null || v === undefined ? "—" : v.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

const ms = (p: Percentiles | null | undefined): Cell => {
  if (!p) return "—";
  const f = (v: number) => (v >= 100 ? v.toFixed(0) : v.toFixed(1));
  return `${f(p.p50)} / ${f(p.p99)}`;
};

/** The whole report as text. */
export function renderReport(report: BenchReport): string {
  const { machine, config } = report;
  const out: string[] = [];
  out.push(
    `Parkway benchmark · ${report.startedAt} · ${(report.durationMs / 1000).toFixed(0)} s`,
    `${machine.cpus} × ${machine.cpuModel} (load average ${machine.loadAverage.join(" ")} at the start) · Node ${machine.node}`,
    `Redis ${machine.redis}: ${machine.redisSetup}` + (machine.postgres ? ` · PostgreSQL ${machine.postgres}` : ""),
    `${config.workers} worker processes × concurrency ${config.concurrency} per engine; Parkway namespace of ${config.partitions} partition(s); latencies in ms (p50 / p99)`,
    "",
  );
  let previous = "";
  const rows = report.results.map((r) => {
    const first = r.scenario !== previous;
    previous = r.scenario;
    return [
      first ? r.scenario : "",
      r.engine,
      num(r.runs),
      num(r.workflowsPerSec, 0),
      num(r.stepsPerSec, 0),
      ms(r.endToEnd),
      ms(r.pickup),
      ms(r.signalToStep ?? r.wakeLateness),
      num(r.callsPerStep, 2),
      num(r.commandsPerStep, 1),
      num(r.redisCpuUsPerStep, 1),
      num(r.redisCpuUsPerRun, 0),
      num(r.bytesPerParkedRun, 0),
    ];
  });
  out.push(
    table(
      [
        "scenario",
        "engine",
        "runs",
        "wf/s",
        "steps/s",
        "e2e",
        "pickup",
        "signal→step | wake late",
        "calls/step",
        "cmds/step",
        "Redis µs/step",
        "Redis µs/run",
        "B/parked",
      ],
      rows,
    ),
  );

  if (report.ratios.length > 0) {
    out.push("", "Parkway ÷ peer (better: Parkway is ahead on this metric)");
    out.push(
      table(
        ["scenario", "peer", "metric", "parkway", "peer", "ratio", ""],
        report.ratios.map((r) => {
          const ahead = r.better === "higher" ? r.ratio > 1 : r.ratio < 1;
          return [
            r.scenario,
            r.peer,
            r.metric,
            num(r.parkway, 2),
            num(r.peerValue, 2),
            `×${r.ratio.toFixed(2)}`,
            ahead ? "better" : "worse",
          ];
        }),
        3,
      ),
    );
  }

  if (report.scale.length > 0) {
    out.push("", "scale curve: throughput by worker processes, and CPU in cores while they drained (what ran out)");
    const cluster = config.redisCluster;
    out.push(
      table(
        [
          "shape",
          "engine",
          "workers",
          "wf/s",
          "wf/s all up",
          "×first",
          "workers CPU",
          cluster ? "Redis CPU (all)" : "Redis CPU",
          ...(cluster ? ["busiest master"] : []),
          "machine CPU",
        ],
        report.scale.flatMap((curve) =>
          curve.points.map((p, i) => [
            i === 0 ? curve.shape : "",
            i === 0 ? curve.engine : "",
            num(p.workers),
            num(p.workflowsPerSec, 0),
            num(p.allWorkersWorkflowsPerSec, 0),
            p.speedup === null ? "—" : `×${p.speedup.toFixed(2)}`,
            num(p.workerCpuCores, 2),
            num(p.redisBusyCores, 2),
            ...(cluster ? [num(p.busiestMasterCores, 2)] : []),
            num(p.machineBusyCores, 2),
          ]),
        ),
      ),
    );
  }

  if (report.flowControl.length > 0) {
    out.push(
      "",
      `flow control (Parkway): linear-4 over ${config.flowKeys} keys; limited ÷ unlimited, and what a slot granted costs Redis over the unlimited drain (CPU less the idle fleet's polling)`,
    );
    out.push(
      table(
        ["scenario", "slots/run", "wf/s", "ratio", "Redis µs/run", "Redis µs/admission", "cmds/admission", "calls/admission"],
        report.flowControl.map((f) => [
          f.scenario,
          num(f.admissionsPerRun),
          num(f.workflowsPerSec, 0),
          f.throughputRatio === null ? "—" : `×${f.throughputRatio.toFixed(2)}`,
          num(f.redisCpuUsPerRun, 0),
          num(f.redisCpuUsPerAdmission, 1),
          num(f.commandsPerAdmission, 1),
          num(f.callsPerAdmission, 2),
        ]),
        1,
      ),
    );
  }

  if (report.executors.length > 0) {
    out.push("", `executors: in process, a chain of ${report.executors[0]!.steps} no-op steps (ns per step)`);
    out.push(
      table(
        ["executor", "vs", "parkway", "hand-written", "overhead", "ratio"],
        report.executors.map((e) => [
          e.executor,
          e.executor === "runSync" ? "call chain" : "await loop",
          num(e.parkwayNsPerStep, 1),
          num(e.handNsPerStep, 1),
          num(e.overheadNsPerStep, 1),
          `×${e.ratio.toFixed(1)}`,
        ]),
      ),
    );
  }

  out.push("", "notes:");
  out.push(
    "  wf/s, steps/s: a backlog drained by the workers: runs / (last finished - first picked up); signal-driven: from the first signal sent",
    "  e2e, pickup: one run at a time on the idle fleet (start → finished, start → first step starts)",
    "  calls/step: client calls to Redis per step (a script counts once); cmds/step: commands Redis ran, script internals included",
    "  B/parked: Redis used_memory growth per parked run",
    "  Redis figures are server-wide (every master, on a Cluster): other clients of the same Redis show up in them (--redis local avoids that)",
  );
  if (report.scale.length > 0) {
    out.push(
      "  scale: wf/s all up: the drain's rate once every worker process was consuming (×first compares these); CPU shares over that time",
      `  scale: workers stop helping when a Redis master nears 1 core, or the machine its ${machine.cpus} cores (machine CPU: every process on it, others' included)`,
    );
  }
  for (const [engine, notes] of Object.entries(report.notes)) for (const note of notes ?? []) out.push(`  ${engine}: ${note}`);
  if (report.failures.length > 0) {
    out.push("", "failures:");
    for (const f of report.failures) out.push(`  ${f.task}: ${f.error}`);
  }
  return out.join("\n");
}
