/** `parkway workers`: the live workers of the namespace, as they registered themselves. */
import { ExitCode } from "../exit-codes.js";
import { renderWorkers } from "../render/workers.js";
import { withSession, type CommandContext } from "./context.js";

/** Lists the live workers: a table, or `{ "workers": [...] }` with `--json`. */
export async function workersCommand(ctx: CommandContext): Promise<ExitCode> {
  return withSession(ctx, [], async ({ client }) => {
    const workers = await client.workers();
    ctx.output.result({ workers }, () => renderWorkers(workers, ctx.globals.namespace, Date.now()));
    return ExitCode.Ok;
  });
}
