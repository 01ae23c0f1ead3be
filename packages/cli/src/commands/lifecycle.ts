/** Commands that repair or remove runs: retry, rewind, migrate, delete, purge. */
import type { ControlResult, FinishedStatus, Workflow } from "@parkway/core";
import type { JsonArg } from "../args.js";
import { CliError, ExitCode } from "../exit-codes.js";
import { loadWorkflowsOption } from "../session.js";
import { withSession, type CommandContext } from "./context.js";
import { requireWorkflows } from "./runs.js";

/** `parkway retry <id>`: a failed or cancelled run goes on from the step that failed, attempts reset. */
export async function retryCommand(ctx: CommandContext, id: string): Promise<ExitCode> {
  return withSession(ctx, [], async ({ client }) => {
    const result = await client.retry(id);
    ctx.output.result({ id, ...result }, () => `Run ${id} retried (${result.status}): it goes on from the step that failed.`);
    return ExitCode.Ok;
  });
}

/** `parkway rewind <id> --to <key> --workflows <module>`: runs a committed step again, and what depends on it. */
export async function rewindCommand(
  ctx: CommandContext,
  id: string,
  options: { readonly to: string; readonly workflows?: string },
): Promise<ExitCode> {
  const workflows = await loadWorkflowsOption(requireWorkflows(options.workflows, "rewind"));
  return withSession(ctx, workflows, async ({ client }) => {
    const result = await client.rewind(id, { to: options.to });
    ctx.output.result({ id, ...result }, () => describeRepair(`Run ${id} rewound to step "${options.to}"`, result));
    return ExitCode.Ok;
  });
}

/**
 * `parkway migrate <id> --workflows <module> [--keys JSON]`: moves the run to the module's
 * definition of its workflow (the last one the module exports under that name).
 */
export async function migrateCommand(
  ctx: CommandContext,
  id: string,
  options: { readonly workflows?: string; readonly keys?: JsonArg },
): Promise<ExitCode> {
  const modulePath = requireWorkflows(options.workflows, "migrate");
  const workflows = await loadWorkflowsOption(modulePath);
  const keys = options.keys?.json ?? {};
  if (typeof keys !== "object" || keys === null || Array.isArray(keys) || Object.values(keys).some((v) => typeof v !== "string")) {
    throw new CliError(
      '--keys must be a JSON object of old commit key to new, e.g. \'{"charge": "charge-v2"}\'',
      ExitCode.BadArguments,
      "BAD_ARGUMENTS",
    );
  }
  return withSession(ctx, workflows, async ({ client }) => {
    const { workflow } = await client.status(id);
    const to = latest(workflows, workflow);
    if (!to) {
      throw new CliError(
        `${modulePath} exports no workflow named "${workflow}" (the workflow of run ${id})`,
        ExitCode.NotFound,
        "UNKNOWN_WORKFLOW",
      );
    }
    const result = await client.migrate(id, { to, keys: keys as Record<string, string> });
    ctx.output.result({ id, hash: to.hash, ...result }, () => describeRepair(`Run ${id} migrated to definition ${to.hash}`, result));
    return ExitCode.Ok;
  });
}

/** `parkway delete <id>`: deletes a finished run now. */
export async function deleteCommand(ctx: CommandContext, id: string): Promise<ExitCode> {
  return withSession(ctx, [], async ({ client }) => {
    await client.delete(id);
    ctx.output.result({ id, deleted: true }, () => `Run ${id} deleted.`);
    return ExitCode.Ok;
  });
}

/** Options of `purge`. */
export interface PurgeOptions {
  readonly status?: FinishedStatus;
  readonly workflow?: string;
  readonly finishedBefore?: number;
}

/** `parkway purge [--status S] [--workflow W] [--finished-before T]`: deletes matching finished runs. */
export async function purgeCommand(ctx: CommandContext, options: PurgeOptions): Promise<ExitCode> {
  return withSession(ctx, [], async ({ client }) => {
    const deleted = await client.purge({
      ...(options.status === undefined ? {} : { status: options.status }),
      ...(options.workflow === undefined ? {} : { workflow: options.workflow }),
      ...(options.finishedBefore === undefined ? {} : { finishedBefore: options.finishedBefore }),
    });
    ctx.output.result({ deleted }, () => `Deleted ${deleted} finished run${deleted === 1 ? "" : "s"}.`);
    return ExitCode.Ok;
  });
}

function describeRepair(done: string, result: ControlResult): string {
  return result.status === "paused" ? `${done}; it is paused: resume it to go on.` : `${done} (${result.status}).`;
}

function latest(workflows: readonly Workflow<never, unknown>[], name: string): Workflow<never, unknown> | undefined {
  return workflows.filter((w) => w.name === name).at(-1);
}
