/**
 * One mapping from Parkway's typed errors to HTTP answers, so every route
 * reports a bad id, a finished run or an oversize payload the same way.
 */
import { isParkwayError } from "@parkway/core";
import type { ApiError } from "../shared/api.js";

/** An HTTP status code the dashboard answers errors with. */
export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 500;

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
  RUN_FINISHED: 409,
  PAYLOAD_TOO_LARGE: 413,
};

/** The status and body to answer `error` with; unexpected errors say only that something failed (details go to the log). */
export function errorResponse(error: unknown): { status: ErrorStatus; body: ApiError; unexpected: boolean } {
  if (error instanceof HttpError)
    return { status: error.status, body: { error: { code: error.code, message: error.message } }, unexpected: false };
  if (isParkwayError(error)) {
    const status = STATUS_BY_CODE[error.code];
    if (status) return { status, body: { error: { code: error.code, message: error.message } }, unexpected: false };
  }
  return { status: 500, body: { error: { code: "INTERNAL", message: "the dashboard failed to answer; see its log" } }, unexpected: true };
}
