/** Reads the ledger fixtures/fleet-workflows.mjs writes: one file per worker process, outside Redis. */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** One execution of a task or a compensation, in one process. */
export interface Execution {
  /** Its token, also in what it returned. */
  readonly x: string;
  readonly run: string;
  readonly step: string;
  readonly pid: number;
  readonly startedAt: number;
  /** When it returned; null when its process died first (or it threw). */
  endedAt: number | null;
}

interface Line {
  readonly event: "start" | "end";
  readonly x: string;
  readonly run: string;
  readonly step: string;
  readonly pid: number;
  readonly at: number;
}

/** Every execution noted in `dir`, in start order. A line torn by a SIGKILL mid-write is skipped. */
export function readExecutions(dir: string): Execution[] {
  const lines = readdirSync(dir).flatMap((file) =>
    readFileSync(join(dir, file), "utf8")
      .split("\n")
      .filter((line) => line.endsWith("}"))
      .map((line) => JSON.parse(line) as Line),
  );
  const executions = new Map<string, Execution>();
  for (const line of lines) {
    if (line.event === "start") {
      executions.set(line.x, { x: line.x, run: line.run, step: line.step, pid: line.pid, startedAt: line.at, endedAt: null });
    }
  }
  for (const line of lines) {
    const execution = executions.get(line.x);
    if (line.event === "end" && execution) execution.endedAt = line.at;
  }
  return [...executions.values()].sort((a, b) => a.startedAt - b.startedAt);
}

/** Executions grouped by `run|step`. */
export function byStep(executions: readonly Execution[]): Map<string, Execution[]> {
  const steps = new Map<string, Execution[]>();
  for (const e of executions) {
    const key = `${e.run}|${e.step}`;
    steps.set(key, [...(steps.get(key) ?? []), e]);
  }
  return steps;
}
