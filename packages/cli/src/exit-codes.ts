/**
 * Exit codes: scripts branch on them, so each means one thing and never
 * changes. They are listed in `parkway --help` and the README.
 */
import { isParkwayError } from "@parkway/core";
import { CommanderError } from "commander";

/** What a `parkway` process's exit code means. */
export enum ExitCode {
  /** The command did what it was asked. */
  Ok = 0,
  /** Anything else: Redis unreachable, a corrupted run, a bug. */
  Error = 1,
  /** Bad arguments: an unknown command or option, invalid JSON, a bad duration or limit. */
  BadArguments = 2,
  /** No such run (`UNKNOWN_INSTANCE`), schedule (`UNKNOWN_SCHEDULE`), workflow (`UNKNOWN_WORKFLOW`) or committed step (`UNKNOWN_STEP`). */
  NotFound = 3,
  /** `result`: the run failed or was cancelled. */
  RunFailed = 4,
  /** The run already finished, so it cannot be signalled, cancelled, paused or resumed (`RUN_FINISHED`). */
  RunFinished = 5,
  /** `result`: the run did not finish within `--timeout` (it goes on). */
  Timeout = 6,
  /** `signal`: the run can never wait for that signal name from where it stands, e.g. a misspelled name (`UNEXPECTED_SIGNAL`). */
  UnexpectedSignal = 7,
  /** `schedules create`: a schedule with that id exists (`SCHEDULE_EXISTS`); change it with `schedules update`. */
  ScheduleExists = 8,
  /**
   * The run cannot take this repair as it stands, and nothing changed: a retry of a run that did not
   * fail, a delete of a live run (`RUN_STATE`), a migration that would drop a committed step
   * (`INCOMPATIBLE_DEFINITION`).
   */
  Refused = 9,
}

/** The exit code table as `--help` shows it. */
export const EXIT_CODES_HELP = `Exit codes:
  0  success
  1  other error (Redis unreachable, a corrupted run, ...)
  2  bad arguments (unknown option, invalid JSON in --input or --payload, bad --timeout or --limit, ...)
  3  not found: no run or schedule with that id, no workflow with that name, or no committed step with that key
  4  the run failed or was cancelled (result)
  5  the run already finished: it cannot be signalled, cancelled, paused or resumed
  6  the run did not finish within --timeout (result); it goes on
  7  the run never waits for that signal from where it stands, e.g. a misspelled name (signal); nothing was sent
  8  a schedule with that id exists (schedules create); nothing was changed
  9  the run cannot take this repair as it stands (retry of a run that did not fail, delete of a live run,
     a migration that would drop a committed step); nothing changed`;

/** An error the CLI raises itself, with the exit code it means. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    readonly code = "CLI",
  ) {
    super(message);
    this.name = "CliError";
  }
}

const BY_CODE: Readonly<Record<string, ExitCode>> = {
  VALIDATION: ExitCode.BadArguments,
  PAYLOAD_TOO_LARGE: ExitCode.BadArguments,
  UNKNOWN_INSTANCE: ExitCode.NotFound,
  UNKNOWN_WORKFLOW: ExitCode.NotFound,
  UNKNOWN_SCHEDULE: ExitCode.NotFound,
  SCHEDULE_EXISTS: ExitCode.ScheduleExists,
  UNKNOWN_STEP: ExitCode.NotFound,
  RUN_STATE: ExitCode.Refused,
  INCOMPATIBLE_DEFINITION: ExitCode.Refused,
  RUN_FAILED: ExitCode.RunFailed,
  CANCELLED: ExitCode.RunFailed,
  RUN_FINISHED: ExitCode.RunFinished,
  RESULT_TIMEOUT: ExitCode.Timeout,
  UNEXPECTED_SIGNAL: ExitCode.UnexpectedSignal,
};

/** The exit code an error means. */
export function exitCodeOf(error: unknown): ExitCode {
  if (error instanceof CliError) return error.exitCode;
  if (error instanceof CommanderError) return error.exitCode === 0 ? ExitCode.Ok : ExitCode.BadArguments;
  if (isParkwayError(error)) return BY_CODE[error.code] ?? ExitCode.Error;
  return ExitCode.Error;
}

/** The stable code of an error, for `--json` output. */
export function errorCodeOf(error: unknown): string {
  if (error instanceof CliError) return error.code;
  if (error instanceof CommanderError) return "BAD_ARGUMENTS";
  if (isParkwayError(error)) return error.code;
  return "ERROR";
}
