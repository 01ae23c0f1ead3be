/**
 * `parkway worker`: the worker process of `@parkway/worker`, started from the CLI. The
 * flags go through the worker's own `readSettings`, so both entry points read
 * the same flags and environment and validate them the same way.
 */
import { readSettings, runWorker } from "@parkway/worker";
import { loadWorkflowsOption } from "../session.js";
import type { CommandContext, Outcome } from "./context.js";
import { requireWorkflows } from "./runs.js";

/** Options of `worker`; durations and counts are validated by `readSettings`. */
export interface WorkerOptions {
  readonly workflows?: string;
  readonly concurrency?: string;
  readonly lease?: string;
  readonly sweep?: string;
  readonly healthPort?: string;
  readonly shutdownGrace?: string;
}

/** Starts a worker that runs until SIGTERM or SIGINT, then releases its runs at their next step boundary. */
export async function workerCommand(ctx: CommandContext, options: WorkerOptions): Promise<Outcome> {
  const modulePath = requireWorkflows(options.workflows, "worker");
  // Load once here for a clear error naming --workflows; runWorker's import then hits the module cache.
  await loadWorkflowsOption(modulePath);
  const flags: [string, string | undefined][] = [
    ["--workflows", modulePath],
    ["--redis", ctx.globals.redis],
    ["--namespace", ctx.globals.namespace],
    ["--partitions", String(ctx.globals.partitions)],
    ["--concurrency", options.concurrency],
    ["--lease", options.lease],
    ["--sweep", options.sweep],
    ["--health-port", options.healthPort],
    ["--shutdown-grace", options.shutdownGrace],
  ];
  const argv = flags.flatMap(([flag, value]) => (value === undefined ? [] : [flag, value]));
  await runWorker(readSettings(argv, ctx.env));
  return "running";
}
