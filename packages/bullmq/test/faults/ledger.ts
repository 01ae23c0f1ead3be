/**
 * Reads the ledger the fault workflows write: one JSON line per execution
 * start (what it was fed, what the store said when it began) and one per end.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** One execution of a task (one attempt, in one process). */
export interface Execution {
  /** The execution's token: also the `t` of the output it returned. */
  readonly x: string;
  readonly run: string;
  readonly key: string;
  readonly attempt: number;
  /** The run's status in the store when the execution began. */
  readonly statusAtStart: string | null;
  /** Whether the step's output was already committed when the execution began. */
  readonly committedAtStart: boolean;
  /** Tokens of the values it consumed. */
  readonly consumed: readonly string[];
  readonly at: number;
  /** When the task began (wall clock, before its probe). */
  readonly began: number;
  /** Whether its worker had been sent SIGTERM when it began. */
  readonly afterSigterm: boolean;
  /** How it ended; null when its process died first. */
  end: "ok" | "failed" | "aborted" | null;
}

export interface Ledger {
  readonly executions: ReadonlyMap<string, Execution>;
  /** Executions per `run|key`. */
  readonly byStep: ReadonlyMap<string, readonly Execution[]>;
  readonly files: number;
  /** Lines that did not parse (a process killed in the middle of a write). */
  readonly torn: number;
}

interface StartLine {
  x: string;
  r: string;
  k: string;
  a: number;
  s: string | null;
  c: boolean;
  i: string[];
  w: number;
  b: number;
  g: boolean;
}
interface EndLine {
  x: string;
  e: "ok" | "failed" | "aborted";
}

export function readLedger(dir: string): Ledger {
  const executions = new Map<string, Execution>();
  const ends: EndLine[] = [];
  let torn = 0;
  const files = readdirSync(dir).filter((f) => f.startsWith("ledger-") && f.endsWith(".jsonl"));
  for (const file of files) {
    for (const line of readFileSync(join(dir, file), "utf8").split("\n")) {
      if (line === "") continue;
      let entry: StartLine | EndLine;
      try {
        entry = JSON.parse(line) as StartLine | EndLine;
      } catch {
        torn++;
        continue;
      }
      if ("e" in entry) {
        ends.push(entry);
        continue;
      }
      executions.set(entry.x, {
        x: entry.x,
        run: entry.r,
        key: entry.k,
        attempt: entry.a,
        statusAtStart: entry.s,
        committedAtStart: entry.c,
        consumed: entry.i,
        at: entry.w,
        began: entry.b,
        afterSigterm: entry.g,
        end: null,
      });
    }
  }
  for (const end of ends) {
    const execution = executions.get(end.x);
    if (execution) execution.end = end.e;
  }
  const byStep = new Map<string, Execution[]>();
  for (const e of executions.values()) {
    const k = `${e.run}|${e.key}`;
    byStep.set(k, [...(byStep.get(k) ?? []), e]);
  }
  return { executions, byStep, files: files.length, torn };
}
