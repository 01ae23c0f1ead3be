/**
 * Which workers are alive and what they can run. Workers register themselves
 * (the Redis `WorkflowWorker` in its namespace's registry; the embedded engine
 * is its own one worker); a client reads the registry to list them and to warn
 * when a run waits for a workflow no live worker registers.
 */
import { FINISHED_STATUSES, type RunStatus } from "../store/types.js";

/** A workflow definition a worker registers: its name and the hash of its definition. */
export interface RegisteredWorkflow {
  readonly name: string;
  readonly hash: string;
}

/** A live worker, as it registered itself. */
export interface WorkerInfo {
  /** Random, chosen when the worker is created and kept for its life. */
  readonly id: string;
  readonly host: string;
  readonly pid: number;
  /** The namespace it serves; null for an embedded engine (it serves its own store). */
  readonly namespace: string | null;
  /** The partitions of the namespace it consumes wake-ups of. */
  readonly partitions: readonly number[];
  /** Every workflow definition it can run (several hashes of one name when it carries versions). */
  readonly workflows: readonly RegisteredWorkflow[];
  /** Runs it advances at once. */
  readonly concurrency: number;
  /** Step functions it runs at once, across its runs. */
  readonly stepConcurrency: number;
  /** When it registered (store time, ms since the epoch). */
  readonly startedAt: number;
  /** Its latest heartbeat (store time, ms since the epoch). */
  readonly heartbeatAt: number;
  /** The version of the Parkway package it runs (`@parkway/bullmq` for a `WorkflowWorker`, `@parkway/core` embedded). */
  readonly version: string;
}

/** Where a client reads the live workers from. */
export interface WorkerDirectory {
  /** The live workers: never one whose registration has lapsed. */
  list(): Promise<readonly WorkerInfo[]>;
}

/**
 * Something about a run that its status alone does not say:
 * - `NO_WORKER`: no live worker registers the run's workflow, so nothing advances it until one starts;
 * - `NO_WORKER_FOR_DEFINITION`: live workers register the workflow, but none the definition (hash)
 *   the run started with, so the run stays parked (blocked) until one does.
 */
export interface RunWarning {
  readonly code: "NO_WORKER" | "NO_WORKER_FOR_DEFINITION";
  readonly message: string;
}

/** The distinct definitions of `workflows`, as a worker registers them. */
export function registeredWorkflows(workflows: readonly { readonly name: string; readonly hash: string }[]): RegisteredWorkflow[] {
  const seen = new Map<string, RegisteredWorkflow>();
  for (const { name, hash } of workflows) seen.set(`${name}\u0000${hash}`, { name, hash });
  return [...seen.values()];
}

/**
 * The warnings about a run, given the live workers: none for a finished run (it needs no worker).
 * The one place this is decided: the client's `status`, the CLI and the dashboard all show these.
 */
export function runWarnings(
  run: { readonly workflow: string; readonly hash: string; readonly status: RunStatus },
  workers: readonly WorkerInfo[],
): RunWarning[] {
  if (FINISHED_STATUSES.includes(run.status)) return [];
  const registered = workers.flatMap((w) => w.workflows.filter((wf) => wf.name === run.workflow));
  if (registered.length === 0) {
    const alive =
      workers.length === 0 ? "no worker is alive" : `${workers.length} live worker${workers.length === 1 ? "" : "s"}, none with it`;
    return [
      {
        code: "NO_WORKER",
        message: `no live worker registers workflow "${run.workflow}" (${alive}): nothing advances this run until one starts`,
      },
    ];
  }
  if (!registered.some((wf) => wf.hash === run.hash)) {
    return [
      {
        code: "NO_WORKER_FOR_DEFINITION",
        message:
          `live workers register workflow "${run.workflow}", but none the definition this run started with ` +
          `(${run.hash.slice(0, 12)}): it stays parked until a worker with that definition starts`,
      },
    ];
  }
  return [];
}
