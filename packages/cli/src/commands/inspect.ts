/** Commands that look at runs: status (with the continuation tree), history and list. */
import { describeRun, isParkwayError, WorkflowRegistry, type ListOrder, type RunStatus, type RunView, type Workflow } from "@parkway/core";
import { CliError, ExitCode } from "../exit-codes.js";
import { renderHistory } from "../render/history.js";
import { renderList, renderRun, type TreeOrReason } from "../render/run.js";
import { loadWorkflowsOption } from "../session.js";
import { withSession, type CommandContext } from "./context.js";

/**
 * `parkway status <id> [--workflows M]`: the run and its tree. The tree is
 * `describeRun`'s model of the definition the run was started with (same name
 * and hash); without that definition, the committed steps are listed flat.
 */
export async function statusCommand(ctx: CommandContext, id: string, options: { readonly workflows?: string }): Promise<ExitCode> {
  const workflows = options.workflows ? await loadWorkflowsOption(options.workflows) : [];
  return withSession(ctx, [], async ({ client }) => {
    const view = await client.status(id);
    const drawn = drawTree(view, workflows, options.workflows);
    ctx.output.result(
      { run: view, tree: "tree" in drawn ? drawn.tree : null, ...("missing" in drawn ? { treeMissing: drawn.missing } : {}) },
      () => renderRun(view, drawn, Date.now()),
    );
    return ExitCode.Ok;
  });
}

/** `parkway history <id>`: what happened to the run, oldest first; `{ id, events }` with `--json`. */
export async function historyCommand(ctx: CommandContext, id: string): Promise<ExitCode> {
  return withSession(ctx, [], async ({ client }) => {
    const events = await client.history(id);
    ctx.output.result({ id, events }, () => renderHistory(id, events, Date.now()));
    return ExitCode.Ok;
  });
}

function drawTree(view: RunView, workflows: readonly Workflow<never, unknown>[], modulePath: string | undefined): TreeOrReason {
  const registry = new WorkflowRegistry(workflows);
  const definition = registry.find(view.workflow, view.hash);
  if (definition) return { tree: describeRun(definition, view) };
  if (modulePath === undefined) {
    return { missing: `the definition of "${view.workflow}" is not loaded; pass --workflows <module> to draw the whole tree` };
  }
  if (registry.hasName(view.workflow)) {
    const loaded = registry.latest(view.workflow).hash.slice(0, 12);
    return {
      missing: `${modulePath} defines "${view.workflow}" differently (definition ${loaded}) from the one this run started with (${view.hash.slice(0, 12)})`,
    };
  }
  return { missing: `${modulePath} does not export workflow "${view.workflow}"` };
}

/** Options of `list`. */
export interface ListOptions {
  readonly status?: RunStatus;
  readonly workflow?: string;
  readonly limit?: number;
  readonly cursor?: string;
  readonly order?: ListOrder;
  readonly prefix?: string;
  /** `--since`, ms since the epoch. */
  readonly since?: number;
  /** `--until`, ms since the epoch. */
  readonly until?: number;
  /** `--finished-after`, ms since the epoch. */
  readonly finishedAfter?: number;
  /** `--finished-before`, ms since the epoch. */
  readonly finishedBefore?: number;
}

/**
 * `parkway list [--status S] [--workflow W] [--order newest|oldest] [--prefix P] [--since T] [--until T]
 * [--finished-after T] [--finished-before T] [--limit N] [--cursor C]`: runs, newest first unless
 * `--order oldest`, a page at a time; with a finished bound, finished runs by when they finished.
 */
export async function listCommand(ctx: CommandContext, options: ListOptions): Promise<ExitCode> {
  return withSession(ctx, [], async ({ client }) => {
    const query = {
      ...(options.status === undefined ? {} : { status: options.status }),
      ...(options.workflow === undefined ? {} : { workflow: options.workflow }),
      ...(options.limit === undefined ? {} : { limit: options.limit }),
      ...(options.cursor === undefined ? {} : { cursor: options.cursor }),
      ...(options.order === undefined ? {} : { order: options.order }),
      ...(options.prefix === undefined ? {} : { idPrefix: options.prefix }),
      ...(options.since === undefined ? {} : { createdAfter: options.since }),
      ...(options.until === undefined ? {} : { createdBefore: options.until }),
      ...(options.finishedAfter === undefined ? {} : { finishedAfter: options.finishedAfter }),
      ...(options.finishedBefore === undefined ? {} : { finishedBefore: options.finishedBefore }),
    };
    let page: Awaited<ReturnType<typeof client.list>>;
    try {
      page = await client.list(query);
    } catch (error) {
      // The cursor is opaque: one that was not handed out by `list` is refused before Redis is asked.
      if (options.cursor !== undefined && isParkwayError(error, "VALIDATION") && error.context.option === "cursor") {
        throw new CliError(
          `--cursor: "${options.cursor}" is not a cursor printed by a previous list`,
          ExitCode.BadArguments,
          "BAD_ARGUMENTS",
        );
      }
      throw error;
    }
    ctx.output.result(page, () => renderList(page.runs, page.cursor, (cursor) => nextPageCommand(options, cursor)));
    return ExitCode.Ok;
  });
}

function nextPageCommand(options: ListOptions, cursor: string): string {
  const flags = [
    options.status === undefined ? "" : ` --status ${options.status}`,
    options.workflow === undefined ? "" : ` --workflow ${options.workflow}`,
    options.order === undefined ? "" : ` --order ${options.order}`,
    options.prefix === undefined ? "" : ` --prefix ${shellWord(options.prefix)}`,
    // Times as absolute ISO times: "2h" ago would mean another window by the time the next page is asked for.
    options.since === undefined ? "" : ` --since ${new Date(options.since).toISOString()}`,
    options.until === undefined ? "" : ` --until ${new Date(options.until).toISOString()}`,
    options.finishedAfter === undefined ? "" : ` --finished-after ${new Date(options.finishedAfter).toISOString()}`,
    options.finishedBefore === undefined ? "" : ` --finished-before ${new Date(options.finishedBefore).toISOString()}`,
    options.limit === undefined ? "" : ` --limit ${options.limit}`,
  ].join("");
  return `parkway list${flags} --cursor ${cursor}`;
}

/** `word` quoted for a POSIX shell when it holds anything but plain id characters. */
function shellWord(word: string): string {
  return /^[\w.:@%+=,/-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`;
}
