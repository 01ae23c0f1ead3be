/** `parkway schedules ...`: create, list, get, pause, resume, trigger, update and delete cron schedules. */
import type { CatchupPolicy, OverlapPolicy, ScheduleUpdate, ScheduleView } from "@parkway/core";
import type { JsonArg } from "../args.js";
import { CliError, ExitCode } from "../exit-codes.js";
import { timestamp } from "../render/format.js";
import { loadWorkflowsOption } from "../session.js";
import { withSession, type CommandContext } from "./context.js";
import { requireWorkflows } from "./runs.js";

/** Options of `schedules create` and `schedules update`. */
export interface ScheduleCommandOptions {
  readonly cron?: string;
  readonly timezone?: string;
  readonly input?: JsonArg;
  readonly overlap?: OverlapPolicy;
  readonly catchup?: CatchupPolicy;
  readonly workflows?: string;
}

/** `parkway schedules create <id> <workflow> --cron EXPR --input JSON [...] --workflows M`. */
export async function scheduleCreateCommand(
  ctx: CommandContext,
  id: string,
  name: string,
  options: ScheduleCommandOptions,
): Promise<ExitCode> {
  const { cron, input } = options;
  if (cron === undefined || input === undefined) {
    throw new CliError("schedules create needs --cron <expression> and --input <json>", ExitCode.BadArguments, "BAD_ARGUMENTS");
  }
  const modulePath = requireWorkflows(options.workflows, "schedules create");
  const workflows = await loadWorkflowsOption(modulePath);
  if (!workflows.some((w) => w.name === name)) {
    throw new CliError(`no workflow named "${name}" in ${modulePath}`, ExitCode.NotFound, "UNKNOWN_WORKFLOW");
  }
  return withSession(ctx, workflows, async ({ client }) => {
    const schedule = await client.schedules.create(id, name, {
      cron,
      input: input.json,
      ...policies(options),
    });
    ctx.output.result(schedule, () => `Created schedule ${id}: ${describe(schedule)}.`);
    return ExitCode.Ok;
  });
}

/** `parkway schedules update <id> [--cron] [--timezone] [--input] [--overlap] [--catchup] [--workflows M]`. */
export async function scheduleUpdateCommand(ctx: CommandContext, id: string, options: ScheduleCommandOptions): Promise<ExitCode> {
  const workflows = options.workflows ? await loadWorkflowsOption(options.workflows) : [];
  const changes: ScheduleUpdate = {
    ...(options.cron === undefined ? {} : { cron: options.cron }),
    ...(options.input === undefined ? {} : { input: options.input.json }),
    ...policies(options),
  };
  return withSession(ctx, workflows, async ({ client }) => {
    const schedule = await client.schedules.update(id, changes);
    ctx.output.result(schedule, () => `Updated schedule ${id}: ${describe(schedule)}.`);
    return ExitCode.Ok;
  });
}

/** `parkway schedules get|pause|resume|trigger|delete <id>`. */
export type ScheduleVerb = "get" | "pause" | "resume" | "trigger" | "delete";

export async function scheduleVerbCommand(ctx: CommandContext, verb: ScheduleVerb, id: string): Promise<ExitCode> {
  return withSession(ctx, [], async ({ client }) => {
    if (verb === "trigger") {
      const runId = await client.schedules.trigger(id);
      ctx.output.result({ id, run: runId }, () => `Triggered schedule ${id}: run ${runId}.`);
    } else if (verb === "delete") {
      await client.schedules.delete(id);
      ctx.output.result({ id, deleted: true }, () => `Deleted schedule ${id} (its runs go on).`);
    } else {
      const schedule = await client.schedules[verb](id);
      const done = verb === "get" ? "Schedule" : verb === "pause" ? "Paused schedule" : "Resumed schedule";
      ctx.output.result(schedule, () => `${done} ${id}: ${describe(schedule)}.`);
    }
    return ExitCode.Ok;
  });
}

/** `parkway schedules list [--limit N] [--cursor C]`. */
export async function scheduleListCommand(
  ctx: CommandContext,
  options: { readonly limit?: number; readonly cursor?: string },
): Promise<ExitCode> {
  return withSession(ctx, [], async ({ client }) => {
    const page = await client.schedules.list({
      ...(options.limit === undefined ? {} : { limit: options.limit }),
      ...(options.cursor === undefined ? {} : { cursor: options.cursor }),
    });
    ctx.output.result(page, () => {
      const lines = page.schedules.map((s) => `${s.id}  ${describe(s)}`);
      if (page.cursor !== null) lines.push(`(more: --cursor ${page.cursor})`);
      return lines.length === 0 ? "No schedules." : lines.join("\n");
    });
    return ExitCode.Ok;
  });
}

function policies(options: ScheduleCommandOptions): Partial<Pick<ScheduleUpdate, "overlap" | "catchup" | "timezone">> {
  return {
    ...(options.timezone === undefined ? {} : { timezone: options.timezone }),
    ...(options.overlap === undefined ? {} : { overlap: options.overlap }),
    ...(options.catchup === undefined ? {} : { catchup: options.catchup }),
  };
}

function describe(s: ScheduleView): string {
  const when = s.paused ? "paused" : s.nextTickAt === null ? "no more ticks" : `next tick ${timestamp(s.nextTickAt)}`;
  const zone = s.timezone === null ? "" : ` ${s.timezone}`;
  const last = s.lastRun === null ? "" : `, last run ${s.lastRun}`;
  return `workflow ${s.workflow}, "${s.cron}"${zone}, overlap ${s.overlap}, catchup ${s.catchup}, ${when}${last}`;
}
