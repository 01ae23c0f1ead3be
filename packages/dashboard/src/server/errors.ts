/**
 * One mapping from Parkway's typed errors to HTTP answers, so every route
 * reports a bad id, a finished run or an oversize payload the same way. Every
 * `ParkwayError` is an answer with its code (a 4xx, or 503 when the
 * dashboard's own client is closed); only an error Parkway did not type is a
 * 500, and its details go to the log, never to the browser.
 */
import { isParkwayError } from "@parkway/core";
import type { ApiError } from "../shared/api.js";

/** An HTTP status code the dashboard answers errors with. */
export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 429 | 500 | 503;

/** An error to answer with `status`; its message is shown to the user as is. */
export class HttpError extends Error {
  constructor(
    readonly status: ErrorStatus,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "HttpError";
  }
}

const STATUS_BY_CODE: Readonly<Record<string, ErrorStatus>> = {
  VALIDATION: 400,
  CODEC: 400,
  UNKNOWN_INSTANCE: 404,
  UNKNOWN_WORKFLOW: 404,
  UNKNOWN_SCHEDULE: 404,
  // A rewind to a key the run's workflow has no step for: the request named it.
  UNKNOWN_STEP: 400,
  RUN_FINISHED: 409,
  // A retry of a run that did not fail, a delete of a live one: the run is not in a state for it.
  RUN_STATE: 409,
  STALE_VERSION: 409,
  DEFINITION_MISMATCH: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNEXPECTED_SIGNAL: 400,
  CLOSED: 503,
};
/** A Parkway code not listed above was still raised for what the request asked: it is the request's problem to report. */
const OTHER_PARKWAY_ERROR: ErrorStatus = 400;

/** The status and body to answer `error` with; unexpected errors say only that something failed (details go to the log). */
export function errorResponse(error: unknown): { status: ErrorStatus; body: ApiError; unexpected: boolean } {
  if (error instanceof HttpError)
    return { status: error.status, body: { error: { code: error.code, message: error.message } }, unexpected: false };
  if (isParkwayError(error)) {
    const status = STATUS_BY_CODE[error.code] ?? OTHER_PARKWAY_ERROR;
    return { status, body: { error: { code: error.code, message: error.message } }, unexpected: status >= 500 };
  }
  return { status: 500, body: { error: { code: "INTERNAL", message: "the dashboard failed to answer; see its log" } }, unexpected: true };
}
