/** The live workers as a table: one row per worker, its workflows by name and definition. */
import type { WorkerInfo } from "@parkway/core";
import { duration, timestamp } from "./format.js";
import { renderTable } from "./table.js";

/** The `workers` page. `now` (epoch ms) is for how long ago each heartbeat was. */
export function renderWorkers(workers: readonly WorkerInfo[], namespace: string, now: number): string {
  if (workers.length === 0) {
    return `No live worker in namespace ${namespace}: runs wait until one starts (is it given --namespace ${namespace}?).`;
  }
  return renderTable(
    ["ID", "HOST", "PID", "CONCURRENCY", "STARTED", "HEARTBEAT", "VERSION", "WORKFLOWS"],
    workers.map((w) => [
      w.id,
      w.host,
      String(w.pid),
      `${w.concurrency} runs, ${w.stepConcurrency} steps`,
      timestamp(w.startedAt),
      now - w.heartbeatAt < 1000 ? "now" : `${duration(now - w.heartbeatAt)} ago`,
      w.version,
      w.workflows.map((wf) => `${wf.name}@${wf.hash.slice(0, 12)}`).join(", "),
    ]),
  ).join("\n");
}
