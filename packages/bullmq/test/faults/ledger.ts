/**
 * Reads the ledger the fault workflows write (fixtures/ledger-tasks.mjs): one
 * JSON line per execution start (what it was fed, what the store said when it
 * began) and one per end. `readLedger` reads it whole once the load is over;
 * a `LedgerTail` follows it while the load runs, so faults can aim at what is
 * running right now.
 */
import { closeSync, openSync, readdirSync, readFileSync, readSync, statSync } from "node:fs";
import { join } from "node:path";

/** One execution of a task (one attempt, in one process). */
export interface Execution {
  /** The execution's token: also the `t` of the output it returned. */
  readonly x: string;
  /** The worker process it ran in. */
  readonly pid: number;
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
  /** When it ended (wall clock); null when its process died first. */
  ended: number | null;
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
  p: number;
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
  w: number;
}

/** One line parsed: an execution that began, or the end of one; null for a torn line. */
function parseLine(line: string): Execution | EndLine | null {
  let entry: StartLine | EndLine;
  try {
    entry = JSON.parse(line) as StartLine | EndLine;
  } catch {
    return null;
  }
  if ("e" in entry) return entry;
  return {
    x: entry.x,
    pid: entry.p,
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
    ended: null,
  };
}

const isLedgerFile = (name: string) => name.startsWith("ledger-") && name.endsWith(".jsonl");

export function readLedger(dir: string): Ledger {
  const executions = new Map<string, Execution>();
  const ends: EndLine[] = [];
  let torn = 0;
  const files = readdirSync(dir).filter(isLedgerFile);
  for (const file of files) {
    for (const line of readFileSync(join(dir, file), "utf8").split("\n")) {
      if (line === "") continue;
      const entry = parseLine(line);
      if (entry === null) torn++;
      else if ("e" in entry) ends.push(entry);
      else executions.set(entry.x, entry);
    }
  }
  for (const end of ends) {
    const execution = executions.get(end.x);
    if (!execution) continue;
    execution.end = end.e;
    execution.ended = end.w;
  }
  const byStep = new Map<string, Execution[]>();
  for (const e of executions.values()) {
    const k = `${e.run}|${e.key}`;
    byStep.set(k, [...(byStep.get(k) ?? []), e]);
  }
  return { executions, byStep, files: files.length, torn };
}

/**
 * Follows the ledger while the load runs: each `poll()` reads what every file
 * gained since the last one, and keeps the executions begun and not ended yet.
 */
export class LedgerTail {
  private readonly offsets = new Map<string, number>();
  private readonly partial = new Map<string, string>();
  /** Executions begun and not ended, by token. */
  readonly running = new Map<string, Execution>();

  constructor(private readonly dir: string) {}

  /** The executions that began since the last poll (also kept in `running` until they end). */
  poll(): Execution[] {
    const began: Execution[] = [];
    for (const file of readdirSync(this.dir).filter(isLedgerFile)) {
      const path = join(this.dir, file);
      const from = this.offsets.get(file) ?? 0;
      const size = statSync(path).size;
      if (size <= from) continue;
      const bytes = Buffer.alloc(size - from);
      const fd = openSync(path, "r");
      try {
        readSync(fd, bytes, 0, bytes.length, from);
      } finally {
        closeSync(fd);
      }
      this.offsets.set(file, size);
      const lines = ((this.partial.get(file) ?? "") + bytes.toString("utf8")).split("\n");
      // The last piece is a line still being written (or ""): kept for the next poll.
      this.partial.set(file, lines.pop() ?? "");
      for (const line of lines) {
        const entry = line === "" ? null : parseLine(line);
        if (entry === null) continue;
        if ("e" in entry) this.running.delete(entry.x);
        else {
          this.running.set(entry.x, entry);
          began.push(entry);
        }
      }
    }
    return began;
  }

  /** Forgets the executions of a process that is gone (they will never end). */
  forgetProcess(pid: number): void {
    for (const [x, e] of this.running) if (e.pid === pid) this.running.delete(x);
  }
}
