/** What a command's handler is given, and the helper that opens and always closes its session. */
import type { Workflow } from "@parkway/core";
import type { ExitCode } from "../exit-codes.js";
import type { Output } from "../output.js";
import { openSession, type GlobalOptions, type Session } from "../session.js";

/** The resolved global options and where to answer. */
export interface CommandContext {
  readonly globals: GlobalOptions;
  readonly output: Output;
  readonly env: NodeJS.ProcessEnv;
}

/** What a handler ends with: an exit code, or "running" for a process that stays up (the worker). */
export type Outcome = ExitCode | "running";

/** Runs `fn` with a connected session, closing it however `fn` ends. */
export async function withSession<T>(
  ctx: CommandContext,
  workflows: readonly Workflow<never, unknown>[],
  fn: (session: Session) => Promise<T>,
): Promise<T> {
  const session = await openSession(ctx.globals, workflows);
  try {
    return await fn(session);
  } finally {
    await session.close();
  }
}
