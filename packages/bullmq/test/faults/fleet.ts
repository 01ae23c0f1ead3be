/**
 * The worker processes of the fault suite: real `apps/worker` processes
 * loading the fault workflows, each logging to a file of its own. The fleet
 * kills, restarts, freezes and thaws them, and remembers every exit it did not
 * cause: a worker that dies on its own (an unhandled rejection, a crash on
 * reconnect) is a finding, not noise.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const WORKER_MAIN = fileURLToPath(new URL("../../../../apps/worker/dist/main.js", import.meta.url));
export const FAULT_WORKFLOWS = fileURLToPath(new URL("./fixtures/fault-workflows.mjs", import.meta.url));

export interface FleetOptions {
  readonly redisUrl: string;
  readonly namespace: string;
  /** Where worker logs and the per-process ledger files go. */
  readonly dir: string;
  readonly lease: string;
  readonly concurrency: number;
  /** How long a worker sent SIGTERM lets its steps in flight finish before aborting them. */
  readonly shutdownGrace?: string;
  /** Another workflows module (the bad-input tests use versioned definitions). */
  readonly workflowsModule?: string;
  /** The namespace's partition count (default 1). */
  readonly partitions?: number;
}

/**
 * What happened to a worker process, when (wall clock): the checker needs to know when a
 * process stopped doing anything (killed, frozen) to tell a lapsed hold from an exceeded limit.
 */
export interface ProcessEvent {
  readonly pid: number;
  readonly kind: "started" | "killed" | "frozen" | "thawed" | "terminated" | "exited";
  readonly at: number;
}

/** An exit the fleet did not ask for. */
export interface UnexpectedExit {
  readonly pid: number;
  readonly code: number | null;
  readonly signal: string | null;
  readonly logTail: string;
}

interface Slot {
  child: ChildProcess | null;
  log: string;
  frozen: boolean;
  /** Sent SIGTERM and not exited yet. */
  stopping: boolean;
}

export class WorkerFleet {
  private readonly slots: Slot[] = [];
  private readonly expectedExits = new Set<number>();
  readonly unexpectedExits: UnexpectedExit[] = [];
  /** Counts of what was done to the fleet. */
  readonly counts = { started: 0, killed: 0, frozen: 0, terminated: 0 };
  /** Workers that did not exit on their own within a minute of SIGTERM (then killed). */
  readonly stuckOnSigterm: number[] = [];
  /** Every start, kill, freeze, thaw, SIGTERM and exit, in order. */
  readonly history: ProcessEvent[] = [];

  constructor(private readonly options: FleetOptions) {}

  get size(): number {
    return this.slots.length;
  }

  /** Starts `n` workers (slots 0..n-1). */
  async start(n: number): Promise<void> {
    for (let i = 0; i < n; i++) this.slots.push({ child: null, log: "", frozen: false, stopping: false });
    await Promise.all(this.slots.map((_, i) => this.launch(i)));
  }

  isAlive(slot: number): boolean {
    return this.slots[slot]?.child !== null;
  }

  isFrozen(slot: number): boolean {
    return this.slots[slot]?.frozen === true;
  }

  isStopping(slot: number): boolean {
    return this.slots[slot]?.stopping === true;
  }

  /** The slot whose live process is `pid`, or undefined. */
  slotOf(pid: number): number | undefined {
    const slot = this.slots.findIndex((s) => s.child?.pid === pid);
    return slot === -1 ? undefined : slot;
  }

  /**
   * SIGTERM: the worker takes no new runs, lets its steps in flight finish
   * (aborting them after the shutdown grace) and releases its runs, then exits.
   * One that has not exited within a minute is recorded and killed.
   */
  async terminate(slot: number): Promise<void> {
    const s = this.slot(slot);
    const child = s.child;
    if (!child || s.frozen || s.stopping) return;
    s.stopping = true;
    this.expectedExits.add(child.pid!);
    this.note(child.pid!, "terminated");
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    const timer = setTimeout(() => (this.stuckOnSigterm.push(child.pid!), child.kill("SIGKILL")), 60_000);
    await exited;
    clearTimeout(timer);
    if (s.child === child) s.child = null;
    s.stopping = false;
    this.counts.terminated++;
  }

  /** SIGKILL: the worker gets no chance to finish anything. */
  async kill(slot: number): Promise<void> {
    const s = this.slot(slot);
    const child = s.child;
    if (!child) return;
    s.child = null;
    s.frozen = false;
    s.stopping = false;
    this.expectedExits.add(child.pid!);
    this.note(child.pid!, "killed");
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
    this.counts.killed++;
  }

  /** Starts a fresh process in the slot (after a kill). */
  async restart(slot: number): Promise<void> {
    if (this.slot(slot).child) return;
    await this.launch(slot);
  }

  /** SIGSTOP: the process keeps its connections and its runs but does nothing, as in a long GC pause or a VM freeze. */
  freeze(slot: number): void {
    const s = this.slot(slot);
    if (!s.child || s.frozen) return;
    s.child.kill("SIGSTOP");
    this.note(s.child.pid!, "frozen");
    s.frozen = true;
    this.counts.frozen++;
  }

  /** SIGCONT: the frozen process goes on where it stopped, unaware of the time that passed. */
  thaw(slot: number): void {
    const s = this.slot(slot);
    if (!s.child || !s.frozen) return;
    s.child.kill("SIGCONT");
    this.note(s.child.pid!, "thawed");
    s.frozen = false;
  }

  /** Thaws every frozen worker and restarts every dead one. */
  async heal(): Promise<void> {
    for (let i = 0; i < this.slots.length; i++) {
      this.thaw(i);
      await this.restart(i);
    }
  }

  /** Kills every worker (the suite is over). */
  async stop(): Promise<void> {
    await Promise.all(this.slots.map((_, i) => this.kill(i)));
  }

  /** Kills every worker at once, synchronously: for a test process exiting early. */
  killNow(): void {
    for (const s of this.slots) s.child?.kill("SIGKILL");
  }

  private note(pid: number, kind: ProcessEvent["kind"]): void {
    this.history.push({ pid, kind, at: Date.now() });
  }

  private slot(i: number): Slot {
    const s = this.slots[i];
    if (!s) throw new Error(`no worker slot ${i}`);
    return s;
  }

  private async launch(slot: number): Promise<void> {
    const o = this.options;
    const log = join(o.dir, `worker-${slot}-${this.counts.started}.log`);
    const args = [WORKER_MAIN, "--workflows", o.workflowsModule ?? FAULT_WORKFLOWS, "--redis", o.redisUrl, "--namespace", o.namespace];
    args.push("--lease", o.lease, "--sweep", "500ms", "--concurrency", String(o.concurrency), "--partitions", String(o.partitions ?? 1));
    if (o.shutdownGrace) args.push("--shutdown-grace", o.shutdownGrace);
    const child = spawn(process.execPath, args, {
      env: {
        ...process.env,
        REDIS_URL: o.redisUrl,
        PARKWAY_NAMESPACE: o.namespace,
        PARKWAY_PARTITIONS: String(o.partitions ?? 1),
        PARKWAY_LEDGER_DIR: o.dir,
        PARKWAY_FAULT_WORKER: "1",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const s = this.slot(slot);
    s.child = child;
    s.log = log;
    s.frozen = false;
    this.counts.started++;
    this.note(child.pid!, "started");
    const file = createWriteStream(log);
    child.stdout?.pipe(file, { end: false });
    child.once("close", () => file.end());
    child.on("exit", (code, signal) => {
      this.note(child.pid!, "exited");
      if (this.expectedExits.delete(child.pid!)) return;
      if (s.child === child) s.child = null;
      this.unexpectedExits.push({ pid: child.pid!, code, signal, logTail: tail(log) });
    });
    await new Promise<void>((resolve, reject) => {
      let text = "";
      child.stderr?.on("data", (chunk: Buffer) => {
        file.write(chunk);
        if (text.length < 10_000) text += chunk.toString();
        if (text.includes("worker started")) resolve();
      });
      child.once("exit", (code) => reject(new Error(`worker exited with ${code} before it was ready: ${text}`)));
    });
  }
}

/** The last lines of a log file. */
export function tail(path: string, lines = 30): string {
  try {
    return readFileSync(path, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}
