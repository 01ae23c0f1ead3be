/**
 * Worker processes. Every engine's workers run as separate Node processes,
 * as they would in production, with an IPC channel back to the harness that
 * carries only the events the harness measures.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { isEventBatch, type EventLog } from "./events.js";

/** A running worker process. */
export interface WorkerProcess {
  readonly pid: number;
  /** Asks the process to stop (SIGTERM), then kills it if it does not exit in time. */
  stop(): Promise<void>;
}

/** How to start a worker process and know it is ready. */
export interface SpawnOptions {
  /** Where the worker's events go. */
  readonly events: EventLog;
  /** Resolved as ready when this text appears on stderr (apps/worker announces itself there). */
  readonly readyText?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** How long start-up may take. */
  readonly readyTimeoutMs?: number;
}

const STOP_GRACE_MS = 10_000;

/**
 * Node flags for every worker process, from BENCH_WORKER_NODE_ARGS: the hook
 * for profiling the workers (`--cpu-prof --cpu-prof-dir=...`, which
 * NODE_OPTIONS does not accept).
 */
const NODE_ARGS = (process.env.BENCH_WORKER_NODE_ARGS ?? "").split(" ").filter(Boolean);
const KEPT_STDERR = 8_000;

/**
 * Starts `node <script> <args>` and resolves once it is consuming: when it
 * sends `bench-ready` over IPC, or prints `readyText` on stderr.
 * Its stderr is kept (the tail) and shown only if it dies unasked.
 */
export async function spawnWorker(script: string, args: readonly string[], options: SpawnOptions): Promise<WorkerProcess> {
  const child = spawn(process.execPath, [...NODE_ARGS, script, ...args], {
    env: { ...process.env, NODE_NO_WARNINGS: "1", ...options.env },
    stdio: ["ignore", "ignore", "pipe", "ipc"],
  });
  let stderr = "";
  let stopping = false;
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-KEPT_STDERR);
  });
  child.on("message", (message: unknown) => {
    if (isEventBatch(message)) options.events.addBatch(message);
  });
  child.on("exit", (code, signal) => {
    if (!stopping) process.stderr.write(`\nbench: worker ${child.pid} exited (${signal ?? code}) unasked:\n${stderr}\n`);
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => fail(new Error(`worker did not start within ${options.readyTimeoutMs ?? 30_000} ms:\n${stderr}`)),
      options.readyTimeoutMs ?? 30_000,
    );
    const done = () => {
      clearTimeout(timer);
      child.off("message", onMessage);
      child.stderr?.off("data", onData);
      child.off("exit", onExit);
    };
    const fail = (error: Error) => {
      done();
      child.kill("SIGKILL");
      reject(error);
    };
    const onMessage = (message: unknown) => {
      if ((message as { type?: unknown }).type === "bench-ready") {
        done();
        resolve();
      }
    };
    const onData = () => {
      if (options.readyText !== undefined && stderr.includes(options.readyText)) {
        done();
        resolve();
      }
    };
    const onExit = (code: number | null) => fail(new Error(`worker exited with ${code} before it was ready:\n${stderr}`));
    child.on("message", onMessage);
    child.stderr?.on("data", onData);
    child.once("exit", onExit);
  });
  return {
    pid: child.pid!,
    stop: () => {
      stopping = true;
      return stopChild(child);
    },
  };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
  await exited;
  clearTimeout(timer);
}

/** Starts `count` workers at once (start-up is mostly module loading, which overlaps well). */
export async function spawnWorkers(count: number, start: (index: number) => Promise<WorkerProcess>): Promise<WorkerProcess[]> {
  const settled = await Promise.allSettled(Array.from({ length: count }, (_, i) => start(i)));
  const started = settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (failed) {
    await Promise.all(started.map((w) => w.stop()));
    throw failed.reason;
  }
  return started;
}
