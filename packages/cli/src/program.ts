/**
 * The `parkway` command line: commander declares the commands and options,
 * each command's handler (in `commands/`) does the work, and `runCli` turns
 * whatever happened into one exit code (see `exit-codes.ts`).
 */
import { readFileSync } from "node:fs";
import { Command, CommanderError, Option } from "commander";
import { parseDuration, parseId, parseJson, parseLimit, parsePartitions, parseTime, RUN_STATUSES } from "./args.js";
import type { JsonArg } from "./args.js";
import type { CommandContext, Outcome } from "./commands/context.js";
import { historyCommand, listCommand, statusCommand, type ListOptions } from "./commands/inspect.js";
import { deleteCommand, migrateCommand, purgeCommand, retryCommand, rewindCommand, type PurgeOptions } from "./commands/lifecycle.js";
import {
  controlCommand,
  resultCommand,
  signalCommand,
  startCommand,
  type ControlVerb,
  type SignalOptions,
  type StartOptions,
} from "./commands/runs.js";
import { workerCommand, type WorkerOptions } from "./commands/worker.js";
import {
  scheduleCreateCommand,
  scheduleListCommand,
  scheduleUpdateCommand,
  scheduleVerbCommand,
  type ScheduleCommandOptions,
  type ScheduleVerb,
} from "./commands/schedules.js";
import { workersCommand } from "./commands/workers.js";
import { errorCodeOf, EXIT_CODES_HELP, ExitCode, exitCodeOf } from "./exit-codes.js";
import { Output, type Streams } from "./output.js";
import type { GlobalOptions } from "./session.js";

export { ExitCode, EXIT_CODES_HELP } from "./exit-codes.js";

/** Where the CLI reads its environment and writes its answers. */
export interface CliIo extends Streams {
  readonly env: NodeJS.ProcessEnv;
}

const VERSION = ownVersion();

/**
 * The version in this package's package.json: one directory up from `src/` and
 * `dist/`, two from `dist/cjs/` (whose own package.json only says
 * `"type": "commonjs"`), so the nearest one named `@parkway/cli` wins.
 */
function ownVersion(): string {
  for (const path of ["../package.json", "../../package.json"]) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(path, import.meta.url), "utf8")) as { name?: unknown; version?: unknown };
      if (pkg.name === "@parkway/cli" && typeof pkg.version === "string") return pkg.version;
    } catch {
      // Not this directory: try the next one up.
    }
  }
  return "unknown";
}

/**
 * Runs `parkway` with `argv` (the arguments after the program name).
 * Resolves to the exit code, or to "running" when the command keeps the
 * process up (`worker`).
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<Outcome> {
  let outcome: Outcome = ExitCode.Ok;
  let output = new Output(io, false);
  const handle =
    <A extends unknown[]>(fn: (ctx: CommandContext, ...args: A) => Promise<Outcome>) =>
    async (...args: unknown[]): Promise<void> => {
      // Commander passes the arguments, the command's options, then the command itself.
      const command = args[args.length - 1] as Command;
      const globals = command.optsWithGlobals<GlobalOptions>();
      output = new Output(io, globals.json);
      outcome = await fn({ globals, output, env: io.env }, ...(args.slice(0, -1) as A));
    };
  const program = buildProgram(io, {
    start: handle((ctx, name: string, options: StartOptions) => startCommand(ctx, name, options)),
    signal: handle((ctx, id: string, name: string, options: SignalOptions) => signalCommand(ctx, id, name, options)),
    status: handle((ctx, id: string, options: { workflows?: string }) => statusCommand(ctx, id, options)),
    history: handle((ctx, id: string) => historyCommand(ctx, id)),
    result: handle((ctx, id: string, options: { timeout: number }) => resultCommand(ctx, id, options)),
    list: handle((ctx, options: ListOptions) => listCommand(ctx, options)),
    control: (verb) => handle((ctx, id: string) => controlCommand(ctx, verb, id)),
    worker: handle((ctx, options: WorkerOptions) => workerCommand(ctx, options)),
    scheduleCreate: handle((ctx, id: string, name: string, options: ScheduleCommandOptions) =>
      scheduleCreateCommand(ctx, id, name, options),
    ),
    scheduleUpdate: handle((ctx, id: string, options: ScheduleCommandOptions) => scheduleUpdateCommand(ctx, id, options)),
    scheduleList: handle((ctx, options: { limit?: number; cursor?: string }) => scheduleListCommand(ctx, options)),
    scheduleVerb: (verb) => handle((ctx, id: string) => scheduleVerbCommand(ctx, verb, id)),
    workers: handle((ctx) => workersCommand(ctx)),
    retry: handle((ctx, id: string) => retryCommand(ctx, id)),
    rewind: handle((ctx, id: string, options: { to: string; workflows?: string }) => rewindCommand(ctx, id, options)),
    migrate: handle((ctx, id: string, options: { workflows?: string; keys?: JsonArg }) => migrateCommand(ctx, id, options)),
    delete: handle((ctx, id: string) => deleteCommand(ctx, id)),
    purge: handle((ctx, options: PurgeOptions) => purgeCommand(ctx, options)),
  });
  try {
    await program.parseAsync([...argv], { from: "user" });
    return outcome;
  } catch (error) {
    // Commander has already printed its own usage errors (and help, for exit 0).
    if (error instanceof CommanderError) return exitCodeOf(error);
    const exitCode = exitCodeOf(error);
    const message = error instanceof Error ? error.message : String(error);
    output.failure(exitCode === ExitCode.Error && !(error instanceof Error && "code" in error) ? describeUnexpected(error) : message, {
      code: errorCodeOf(error),
      exitCode,
    });
    return exitCode;
  }
}

function describeUnexpected(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

type Action = (...args: unknown[]) => Promise<void>;

interface Actions {
  readonly start: Action;
  readonly signal: Action;
  readonly status: Action;
  readonly history: Action;
  readonly result: Action;
  readonly list: Action;
  readonly control: (verb: ControlVerb) => Action;
  readonly worker: Action;
  readonly scheduleCreate: Action;
  readonly scheduleUpdate: Action;
  readonly scheduleList: Action;
  readonly scheduleVerb: (verb: ScheduleVerb) => Action;
  readonly workers: Action;
  readonly retry: Action;
  readonly rewind: Action;
  readonly migrate: Action;
  readonly delete: Action;
  readonly purge: Action;
}

/** Declares every command, option and help text. */
function buildProgram(io: CliIo, actions: Actions): Command {
  const program = new Command("parkway")
    .description("Start, signal, inspect and steer Parkway's durable runs on Redis, and run workers.")
    .version(VERSION)
    .exitOverride()
    .configureOutput({ writeOut: (s) => void io.stdout.write(s), writeErr: (s) => void io.stderr.write(s) })
    .configureHelp({ showGlobalOptions: true })
    .showHelpAfterError("(run with --help for usage)")
    .addOption(
      new Option("--redis <url>", "Redis URL, or a Redis Cluster's nodes as comma-separated URLs")
        .env("REDIS_URL")
        .default("redis://127.0.0.1:6379"),
    )
    .addOption(new Option("--namespace <ns>", "key namespace of the runs").env("PARKWAY_NAMESPACE").default("parkway"))
    .addOption(
      new Option("--partitions <n>", "the namespace's partition count, fixed when it is first used")
        .env("PARKWAY_PARTITIONS")
        .default(1)
        .argParser(parsePartitions),
    )
    .option("--json", "print one JSON document on stdout, for scripts", false)
    .addHelpText("after", `\n${EXIT_CODES_HELP}`);

  const workflowsOption = (what: string) => new Option("--workflows <module>", what).env("PARKWAY_WORKFLOWS");
  const id = (what = "the run's instance id") => program.createArgument("<id>", what).argParser(parseId);

  program
    .command("start")
    .description("start a run of a workflow (an id that exists returns that run; nothing starts twice)")
    .argument("<workflow>", "the workflow's name")
    .requiredOption("--input <json>", "the run's input, as JSON", parseJson)
    .option("--id <id>", "the instance id (generated when absent)", parseId)
    .addOption(workflowsOption("module exporting your workflows (required)"))
    .action(actions.start);

  program
    .command("signal")
    .description("send a signal to a run; it is buffered until a step waiting for it takes it")
    .addArgument(id())
    .argument("<name>", "the signal's name", parseId)
    .option("--payload <json>", "the signal's payload, as JSON (required, unless --no-payload)", parseJson)
    .option("--no-payload", "send the signal without a payload, on purpose")
    .option("--delivery-id <id>", "identifies this delivery: a call retried with the same id delivers once", parseId)
    .addOption(
      workflowsOption(
        "module exporting your workflows: checks the name against where the run stands and the payload against the signal's schema",
      ),
    )
    .addHelpText(
      "after",
      "\nA name the run never waits for from where it stands (e.g. misspelled) exits 7 and sends nothing: checked against the\nrun's definition with --workflows, else against the signal names recorded when the run started.",
    )
    .action(actions.signal);

  program
    .command("status")
    .description("show a run: its status, waits, buffered signals, and continuation tree with each step's state, duration and last error")
    .addArgument(id())
    .addOption(workflowsOption("module exporting your workflows: draws the whole tree, not only committed steps"))
    .addHelpText(
      "after",
      "\nAn unfinished run whose workflow no live worker registers (or none with the run's definition) shows a Warning\nline (in --json, run.warnings: [{ code, message }]): nothing advances it until such a worker starts.\nSignals sent to the run and not taken by a step yet are listed (the oldest 20, with when each was sent, its size\nand its payload when small; in --json, run.buffered: { signals, total, byName }).",
    )
    .action(actions.status);

  program
    .command("history")
    .description("show what happened to a run, oldest first: its last 100 events (started, step committed, retry scheduled, parked, ...)")
    .addArgument(id())
    .addHelpText(
      "after",
      "\nEach event has its store time; a failed attempt names its error, and a retry when the next attempt is due.\nWith --json: { id, events: [{ at, type, ... }] } (the event kinds are @parkway/core's RUN_EVENT_TYPES).",
    )
    .action(actions.history);

  program
    .command("result")
    .description("wait for a run to finish and print its output (exit 4 if it failed or was cancelled)")
    .addArgument(id())
    .option("--timeout <duration>", 'how long to wait, e.g. "30s", "5m" (exit 6 when it passes)', parseDuration, 30_000)
    .action(actions.result);

  program
    .command("list")
    .description("list runs, newest first, a page at a time")
    .addHelpText(
      "after",
      "\nWith --finished-after or --finished-before, only finished runs match, listed by when they finished (newest: the\nlatest finished first). With --prefix, or --since/--until together with a finished bound, a page may show fewer\nruns than --limit (even none) and still print the command for the next page.",
    )
    .addOption(new Option("--status <status>", "only runs of this status").choices(RUN_STATUSES))
    .option("--workflow <name>", "only runs of this workflow", parseId)
    .addOption(new Option("--order <order>", "newest or oldest first (default newest)").choices(["newest", "oldest"]))
    .option("--prefix <id-prefix>", "only runs whose id starts with this (a page may then show fewer runs; follow its cursor)", parseId)
    .option("--since <time>", 'only runs created at or after this: an ISO time ("2024-05-01T12:00Z") or a duration ago ("2h")', parseTime)
    .option("--until <time>", "only runs created before this: an ISO time or a duration ago", parseTime)
    .option(
      "--finished-after <time>",
      "only runs that finished at or after this (an ISO time or a duration ago); lists them by when they finished",
      parseTime,
    )
    .option("--finished-before <time>", "only runs that finished before this: an ISO time or a duration ago", parseTime)
    .option("--limit <n>", "runs per page, 1 to 10000 (default 100)", parseLimit)
    .option("--cursor <cursor>", "the page after the one that printed this cursor")
    .action(actions.list);

  const control: [ControlVerb, string][] = [
    ["cancel", "cancel a run: at once unless it is running, else at its next step boundary"],
    ["pause", "pause a run: at once unless it is running, else at its next step boundary"],
    ["resume", "let a paused run go on"],
  ];
  for (const [verb, description] of control) {
    program.command(verb).description(description).addArgument(id()).action(actions.control(verb));
  }

  program
    .command("retry")
    .description("send a failed or cancelled run back to the step that failed, its attempts reset (committed steps are kept)")
    .addArgument(id())
    .action(actions.retry);

  program
    .command("rewind")
    .description("run a committed step again, with every step that depends on it (later steps of its branch, the join, what follows)")
    .addArgument(id())
    .requiredOption("--to <key>", "the commit key of the step to run again, as `status` shows it", parseId)
    .addOption(workflowsOption("module exporting the run's definition (required)"))
    .action(actions.rewind);

  program
    .command("migrate")
    .description("move a run to the module's definition of its workflow (checked: every committed step must exist there)")
    .addArgument(id())
    .addOption(workflowsOption("module exporting the new definition (required)"))
    .option("--keys <json>", 'renames of committed keys, e.g. \'{"charge": "charge-v2"}\'', parseJson)
    .action(actions.migrate);

  program.command("delete").description("delete a finished run now").addArgument(id()).action(actions.delete);

  program
    .command("purge")
    .description("delete the finished runs matching every filter given (at least one), in bounded batches; prints the count")
    .addOption(new Option("--status <status>", "only runs of this finished status").choices(["completed", "failed", "cancelled"]))
    .option("--workflow <name>", "only runs of this workflow", parseId)
    .option("--finished-before <time>", 'only runs that finished before this ISO time, or this long ago, e.g. "30d"', parseTime)
    .action(actions.purge);

  program
    .command("worker")
    .description("run a worker process that advances runs, until SIGTERM or SIGINT")
    .addOption(workflowsOption("module exporting your workflows (required)"))
    .option("--concurrency <n>", "runs advanced at once (env PARKWAY_CONCURRENCY, default 10)")
    .option("--lease <duration>", "how long a silent worker keeps its runs, e.g. 30s (env PARKWAY_LEASE)")
    .option("--sweep <duration>", "how often overdue runs are re-enqueued, e.g. 1s (env PARKWAY_SWEEP)")
    .option(
      "--health-port <port>",
      "serve GET /healthz (live) and /readyz (Redis answers, consuming) on this port (env PARKWAY_HEALTH_PORT)",
    )
    .option(
      "--shutdown-grace <duration>",
      "on SIGTERM, how long steps in flight may finish before they are aborted, e.g. 30s (env PARKWAY_SHUTDOWN_GRACE)",
    )
    .action(actions.worker);

  const schedules = program.command("schedules").description("manage cron schedules: each tick starts one run, <schedule id>@<tick time>");
  const scheduleId = () => schedules.createArgument("<id>", "the schedule's id").argParser(parseId);
  const scheduleOptions = (command: Command, create: boolean) =>
    command
      .option("--cron <expression>", `cron expression, 5 fields or 6 with seconds first${create ? " (required)" : ""}`)
      .option("--timezone <zone>", "IANA time zone the expression is read in (default UTC)")
      .option("--input <json>", `input of every run it starts, as JSON${create ? " (required)" : ""}`, parseJson)
      .addOption(new Option("--overlap <policy>", "while the previous run is live (default skip)").choices(["skip", "bufferOne", "allow"]))
      .addOption(new Option("--catchup <policy>", "ticks missed while no worker ran (default none)").choices(["none", "latest"]));
  scheduleOptions(
    schedules.command("create").description("create a schedule").addArgument(scheduleId()).argument("<workflow>", "the workflow's name"),
    true,
  )
    .addOption(workflowsOption("module exporting your workflows (required)"))
    .action(actions.scheduleCreate);
  scheduleOptions(schedules.command("update").description("change a schedule's options").addArgument(scheduleId()), false)
    .addOption(workflowsOption("module exporting your workflows: checks a new input against the workflow's schema"))
    .action(actions.scheduleUpdate);
  schedules
    .command("list")
    .description("list schedules in id order, a page at a time")
    .option("--limit <n>", "schedules per page, 1 to 10000 (default 100)", parseLimit)
    .option("--cursor <cursor>", "the page after the one that printed this cursor")
    .action(actions.scheduleList);
  const verbs: [ScheduleVerb, string][] = [
    ["get", "show a schedule: its next tick and last run"],
    ["pause", "stop starting runs at ticks (trigger still works)"],
    ["resume", "start runs at ticks again, from the next one"],
    ["trigger", "start a run of the schedule now, whatever its overlap policy"],
    ["delete", "remove a schedule (its runs go on)"],
  ];
  for (const [verb, description] of verbs) {
    schedules.command(verb).description(description).addArgument(scheduleId()).action(actions.scheduleVerb(verb));
  }

  program
    .command("workers")
    .description("list the live workers of the namespace: id, host, pid, concurrency, heartbeat, version, workflows")
    .addHelpText(
      "after",
      "\nEach worker registers itself when it starts, renews that with a heartbeat (every second, or every --sweep if longer)\nand deregisters when it stops; a worker killed without stopping drops out within five heartbeats.",
    )
    .action(actions.workers);

  for (const command of [...program.commands, ...schedules.commands]) command.addHelpText("after", `\n${EXIT_CODES_HELP}`);
  return program;
}
