/** Commands that act on runs: start, signal, result, cancel, pause, resume. */
import { isParkwayError, type ControlResult } from "@parkway/core";
import type { JsonArg } from "../args.js";
import { CliError, ExitCode } from "../exit-codes.js";
import { toJson } from "../output.js";
import { shortError } from "../render/format.js";
import { loadWorkflowsOption } from "../session.js";
import { withSession, type CommandContext } from "./context.js";

/** Options of `start`. */
export interface StartOptions {
  readonly input: JsonArg;
  readonly id?: string;
  readonly workflows?: string;
}

/** `parkway start <workflow> --input JSON [--id ID]`: starts a run, or finds the run that has the id. */
export async function startCommand(ctx: CommandContext, name: string, options: StartOptions): Promise<ExitCode> {
  const modulePath = requireWorkflows(options.workflows, "start");
  const workflows = await loadWorkflowsOption(modulePath);
  if (!workflows.some((w) => w.name === name)) {
    const known = workflows.map((w) => `"${w.name}"`).join(", ");
    throw new CliError(`no workflow named "${name}" in ${modulePath} (it exports ${known})`, ExitCode.NotFound, "UNKNOWN_WORKFLOW");
  }
  return withSession(ctx, workflows, async ({ client }) => {
    const run = await client.start(name, options.input.json, options.id === undefined ? {} : { id: options.id });
    const { status } = await run.status();
    ctx.output.result({ ...run.toJSON(), status }, () =>
      run.created
        ? `Started run ${run.id} (workflow ${run.workflow}, ${status}).`
        : `Run ${run.id} already exists (workflow ${run.workflow}, ${status}); nothing was started.`,
    );
    return ExitCode.Ok;
  });
}

/** Options of `signal`: `payload` is false for `--no-payload`. */
export interface SignalOptions {
  readonly payload?: JsonArg | false;
  readonly deliveryId?: string;
  readonly workflows?: string;
}

/**
 * `parkway signal <id> <name> (--payload JSON | --no-payload) [--delivery-id ID] [--workflows M]`:
 * buffers a signal for the run. The payload must be given, so a forgotten one is not sent as null
 * to a step that expects a value; `--no-payload` sends none on purpose. A name the run never waits
 * for from where it stands (checked against the run's definition with `--workflows`, else against
 * the names recorded when it started) exits 7 and sends nothing. A call retried with the same
 * delivery id (after exit 1: the connection was lost) delivers once.
 */
export async function signalCommand(ctx: CommandContext, id: string, name: string, options: SignalOptions): Promise<ExitCode> {
  if (options.payload === undefined) {
    throw new CliError(
      `signal needs --payload <json> (e.g. --payload '{"by":"ana"}', or --payload null), or --no-payload to send none`,
      ExitCode.BadArguments,
      "BAD_ARGUMENTS",
    );
  }
  const payload = options.payload === false ? undefined : options.payload.json;
  const workflows = options.workflows ? await loadWorkflowsOption(options.workflows) : [];
  return withSession(ctx, workflows, async ({ client }) => {
    await client.signal(id, name, payload, options.deliveryId === undefined ? {} : { deliveryId: options.deliveryId });
    ctx.output.result({ id, signal: name, ...(payload === undefined ? {} : { payload }) }, () => `Sent signal "${name}" to run ${id}.`);
    return ExitCode.Ok;
  });
}

/** `parkway result <id> [--timeout 30s]`: waits for the run to end; exit 4 when it failed or was cancelled. */
export async function resultCommand(ctx: CommandContext, id: string, options: { readonly timeout: number }): Promise<ExitCode> {
  return withSession(ctx, [], async ({ client }) => {
    try {
      const output = await client.result(id, { timeout: options.timeout });
      ctx.output.result({ id, status: "completed", output }, () => toJson(output, 2));
      return ExitCode.Ok;
    } catch (error) {
      if (!isParkwayError(error, "RUN_FAILED") && !isParkwayError(error, "CANCELLED")) throw error;
      const view = await client.status(id);
      const why =
        view.error === null ? "" : `: ${shortError(view.error)}${view.error.step === undefined ? "" : ` (step ${view.error.step})`}`;
      ctx.output.note(`parkway: run ${id} ${view.status === "cancelled" ? "was cancelled" : "failed"}${why}`);
      if (ctx.output.json) ctx.output.result({ id, status: view.status, error: view.error }, () => "");
      return ExitCode.RunFailed;
    }
  });
}

/** What `cancel`, `pause` and `resume` do. */
export type ControlVerb = "cancel" | "pause" | "resume";

/** `parkway cancel|pause|resume <id>`. */
export async function controlCommand(ctx: CommandContext, verb: ControlVerb, id: string): Promise<ExitCode> {
  return withSession(ctx, [], async ({ client }) => {
    // Read before resuming, to tell a resumed run from one that was not paused.
    const before = verb === "resume" ? (await client.status(id)).status : null;
    const result = await client[verb](id);
    ctx.output.result({ id, ...result }, () => describeControl(verb, id, result, before));
    return ExitCode.Ok;
  });
}

function describeControl(verb: ControlVerb, id: string, result: ControlResult, before: string | null): string {
  if (verb === "cancel") {
    return result.immediate ? `Run ${id} cancelled.` : `Run ${id} is running: it is cancelled at its next step boundary.`;
  }
  if (verb === "pause") {
    return result.immediate ? `Run ${id} paused.` : `Run ${id} is running: it pauses at its next step boundary.`;
  }
  if (before === "paused") return `Run ${id} resumed (${result.status}).`;
  if (result.status === "running") return `Run ${id} is running; a pause asked of it, if any, was withdrawn.`;
  return `Run ${id} is ${result.status}, not paused: nothing to resume.`;
}

/** The `--workflows` module a command cannot do without. */
export function requireWorkflows(modulePath: string | undefined, command: string): string {
  if (modulePath === undefined || modulePath === "") {
    throw new CliError(
      `${command} needs --workflows <module> (or PARKWAY_WORKFLOWS): the module that exports your workflows`,
      ExitCode.BadArguments,
      "BAD_ARGUMENTS",
    );
  }
  return modulePath;
}
