/**
 * The one place where the scripts' numeric error codes become typed errors.
 * Every script replies `{ code, ... }`: 0 for success, 1 for "stopped at a
 * step boundary", and one of {@link ScriptErrorCode} for an error (the codes
 * are listed again in `lua/includes/header.lua`).
 */
import {
  CodecError,
  IncompatibleDefinitionError,
  ParkwayError,
  RunFinishedError,
  RunStateError,
  StaleVersionError,
  UnknownInstanceError,
  UnknownStepError,
} from "@parkway/core";

/** Error codes the Lua scripts return as the first element of their reply. */
export enum ScriptErrorCode {
  /** No run has the id. */
  UnknownInstance = -1,
  /** The caller's version is not the run's: another worker advanced it. Detail: the run's version. */
  StaleVersion = -2,
  /** The run completed, failed or was cancelled. Detail: its status. */
  RunFinished = -3,
  /** A header field the script must read does not parse. Detail: the field. */
  CorruptHeader = -4,
  /** The operation does not apply to the run as it stands (a retry of a running run). Detail: its status. */
  WrongStatus = -5,
  /** The run has no output under a commit key the caller named. Detail: the key. */
  UnknownStep = -6,
  /** A migration would leave a committed key the new definition lacks. Detail: the key. */
  Incompatible = -7,
}

/** What the caller was doing, to name it in the error. */
export interface ScriptCall {
  readonly id: string;
  /** The version the caller presented, for StaleVersionError. */
  readonly version?: number;
  /** The operation in words (`signal "approved"`), for RunFinishedError. */
  readonly what: string;
}

/** The typed error for a script's error reply `code` with its `detail`. */
export function scriptError(code: number, detail: string | number | undefined, call: ScriptCall): ParkwayError {
  const { id } = call;
  switch (code as ScriptErrorCode) {
    case ScriptErrorCode.UnknownInstance:
      return new UnknownInstanceError(`no run with id "${id}"`, { instanceId: id });
    case ScriptErrorCode.StaleVersion:
      return new StaleVersionError(`run "${id}" is at version ${String(detail)}, not ${String(call.version)}: another worker advanced it`, {
        instanceId: id,
        expected: call.version,
        actual: Number(detail),
      });
    case ScriptErrorCode.RunFinished:
      return new RunFinishedError(`cannot ${call.what}: run "${id}" is ${String(detail)}`, { instanceId: id, status: String(detail) });
    case ScriptErrorCode.CorruptHeader:
      return new CodecError(`the stored header of run "${id}" is corrupted: field "${String(detail)}" does not parse`, {
        instanceId: id,
        field: String(detail),
      });
    case ScriptErrorCode.WrongStatus:
      return new RunStateError(`cannot ${call.what}: run "${id}" is ${String(detail)}`, { instanceId: id, status: String(detail) });
    case ScriptErrorCode.UnknownStep:
      return new UnknownStepError(`cannot ${call.what}: run "${id}" has no committed step "${String(detail)}"`, {
        instanceId: id,
        step: String(detail),
      });
    case ScriptErrorCode.Incompatible:
      return new IncompatibleDefinitionError(
        `cannot ${call.what}: run "${id}" has committed step "${String(detail)}", which the new definition does not have (map it with \`keys\`)`,
        { instanceId: id, step: String(detail) },
      );
    default:
      // Only a script and this file disagreeing gets here.
      return new ParkwayError(`unexpected reply code ${code} from a Parkway script (${call.what}, run "${id}")`, { instanceId: id });
  }
}
