/**
 * Every error Parkway raises is a `ParkwayError` with a stable string `code`.
 *
 * `instanceof` and {@link isParkwayError} recognise errors by a global brand and
 * their code, not by class identity, so they keep working when two copies of
 * `@parkway/core` end up installed (a common outcome of npm's hoisting).
 */
const BRAND = Symbol.for("parkway.error");

/** Where an error happened, as far as the raiser knows. */
export interface ErrorContext {
  readonly workflow?: string;
  readonly instanceId?: string;
  readonly step?: string;
  readonly [key: string]: unknown;
}

/** Base class of every error Parkway raises. */
export class ParkwayError extends Error {
  /** Stable identifier of the error kind; safe to switch on and to store. */
  static readonly code: string = "PARKWAY_ERROR";
  readonly code: string;
  readonly context: ErrorContext;
  readonly [BRAND] = true;

  constructor(message: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    const ctor = new.target as unknown as { code: string; name: string };
    this.code = ctor.code;
    this.name = ctor.name;
    this.context = context;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (!isBranded(value)) return false;
    const code = (this as unknown as { code: string }).code;
    return code === ParkwayError.code || value.code === code;
  }
}

function isBranded(value: unknown): value is ParkwayError {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}

/** True when `value` is a Parkway error (from any copy of the package), optionally of one `code`. */
export function isParkwayError(value: unknown, code?: string): value is ParkwayError {
  return isBranded(value) && (code === undefined || value.code === code);
}

/** A workflow definition, a duration, an id or a payload failed validation. */
export class ValidationError extends ParkwayError {
  static override readonly code = "VALIDATION";
}
/** A run was started or resumed for a workflow name no one registered. */
export class UnknownWorkflowError extends ParkwayError {
  static override readonly code = "UNKNOWN_WORKFLOW";
}
/** An operation named an instance id the store does not hold. */
export class UnknownInstanceError extends ParkwayError {
  static override readonly code = "UNKNOWN_INSTANCE";
}
/** An operation named a schedule id the store does not hold. */
export class UnknownScheduleError extends ParkwayError {
  static override readonly code = "UNKNOWN_SCHEDULE";
}
/** `schedules.create` named a schedule id that exists (change it with `schedules.update`). */
export class ScheduleExistsError extends ParkwayError {
  static override readonly code = "SCHEDULE_EXISTS";
}
/** A snapshot was started with a workflow definition (hash) this process does not have. */
export class DefinitionMismatchError extends ParkwayError {
  static override readonly code = "DEFINITION_MISMATCH";
}
/** A signal wait passed its timeout and the step had no `onTimeout` value. */
export class SignalTimeoutError extends ParkwayError {
  static override readonly code = "SIGNAL_TIMEOUT";
}
/** A task attempt ran past its `timeout`; its `ctx.signal` was aborted. */
export class TaskTimeoutError extends ParkwayError {
  static override readonly code = "TASK_TIMEOUT";
}
/** A value could not be encoded or decoded (a function, a cyclic object, corrupted bytes). */
export class CodecError extends ParkwayError {
  static override readonly code = "CODEC";
}
/** An encoded payload is larger than the store's configured limit. Nothing was written. */
export class PayloadTooLargeError extends ParkwayError {
  static override readonly code = "PAYLOAD_TOO_LARGE";
}
/** The run was cancelled; thrown to callers waiting for its result. */
export class CancelledError extends ParkwayError {
  static override readonly code = "CANCELLED";
}
/** Thrown by a task to fail at once, without the retries its policy allows. */
export class NonRetryableError extends ParkwayError {
  static override readonly code = "NON_RETRYABLE";
}
/** An executor met a node it cannot perform (a signal wait outside a durable run, a promise in `runSync`). */
export class UnsupportedStepError extends ParkwayError {
  static override readonly code = "UNSUPPORTED_STEP";
}
/** A loop asked for another iteration after `maxIterations`. */
export class LoopLimitError extends ParkwayError {
  static override readonly code = "LOOP_LIMIT";
}
/** A map's items function returned more items than the map's `maxItems`. */
export class MapLimitError extends ParkwayError {
  static override readonly code = "MAP_LIMIT";
}
/** A run went on past its workflow's `timeout`; its tasks in flight were aborted. */
export class RunTimeoutError extends ParkwayError {
  static override readonly code = "RUN_TIMEOUT";
}
/** A route's key function returned a key with no branch and the route has no default branch. */
export class RouteKeyError extends ParkwayError {
  static override readonly code = "ROUTE_KEY";
}
/** A write carried an older snapshot version than the store holds: another worker advanced the run. */
export class StaleVersionError extends ParkwayError {
  static override readonly code = "STALE_VERSION";
}
/** An operation needs a live run, but the run already completed, failed or was cancelled. */
export class RunFinishedError extends ParkwayError {
  static override readonly code = "RUN_FINISHED";
}
/** A run failed; `cause` holds the task's error as stored. Thrown by `result()`. */
export class RunFailedError extends ParkwayError {
  static override readonly code = "RUN_FAILED";
}
/** `result()` gave up waiting before the run finished. The run itself goes on. */
export class ResultTimeoutError extends ParkwayError {
  static override readonly code = "RESULT_TIMEOUT";
}
/** `start` with `onConflict: "fail"` found a run with that id already; nothing was started. */
export class RunExistsError extends ParkwayError {
  static override readonly code = "RUN_EXISTS";
}
/**
 * An operation does not apply to the run in its current status (a retry of a
 * running run, a delete of a live one); `context.status` says where it stands. Nothing changed.
 */
export class RunStateError extends ParkwayError {
  static override readonly code = "RUN_STATE";
}
/** A rewind or a migration named a commit key the run (or its definition) does not have. Nothing changed. */
export class UnknownStepError extends ParkwayError {
  static override readonly code = "UNKNOWN_STEP";
}
/**
 * A migration would leave a committed step the new definition does not have
 * (`context.step`): map it with `keys`, or migrate elsewhere. Nothing changed.
 */
export class IncompatibleDefinitionError extends ParkwayError {
  static override readonly code = "INCOMPATIBLE_DEFINITION";
}
/**
 * A step was already started every time it may be (`maxAttempts`, and never fewer than 3), the
 * last on a worker that died before the attempt ended: a task that keeps killing its worker.
 */
export class AttemptsExhaustedError extends ParkwayError {
  static override readonly code = "ATTEMPTS_EXHAUSTED";
}
/**
 * `signal()` named a signal the run can never wait for from where it stands: a
 * misspelled name, one its workflow never waits for, or one whose every wait
 * the run has passed. Nothing was buffered. `context.expected` lists the names
 * it can still wait for.
 */
export class UnexpectedSignalError extends ParkwayError {
  static override readonly code = "UNEXPECTED_SIGNAL";
}
/**
 * The child run of a `.child(...)` step failed or was cancelled: the parent's step fails with this
 * error, `cause` holding the child's error as stored (a `CancelledError` for a cancelled child).
 * `context.child` is the child's instance id, `context.childStatus` how it ended. Never retried by
 * the parent: a child run has its own retries, and the parent starts it once.
 */
export class ChildRunFailedError extends ParkwayError {
  static override readonly code = "CHILD_RUN_FAILED";
}
/** An engine or client was used after `close()`. */
export class ClosedError extends ParkwayError {
  static override readonly code = "CLOSED";
}

/** Turns any thrown value into an `Error`, at every boundary where user code runs. */
export function ensureError(value: unknown): Error {
  if (value instanceof Error) return value;
  let text: string;
  try {
    text = typeof value === "string" ? value : JSON.stringify(value);
  } catch {
    text = String(value);
  }
  return new Error(`non-error thrown: ${text}`);
}

/** An error as stored in a snapshot: a plain, marked shape that survives encoding. */
export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly stack?: string;
  readonly context?: Record<string, unknown>;
  readonly cause?: SerializedError;
  /** The commit key of the step that failed, when a step failed. */
  readonly step?: string;
  /**
   * The compensations that still failed after their attempts when the run failed (each with `step`,
   * the commit key of the step it was undoing); absent when every one ran.
   */
  readonly compensations?: readonly SerializedError[];
}

/** Reduces any thrown value to a {@link SerializedError}. */
export function serializeError(value: unknown, depth = 0): SerializedError {
  const error = ensureError(value);
  const out: { -readonly [K in keyof SerializedError]: SerializedError[K] } = { name: error.name, message: error.message };
  if (error.stack !== undefined) out.stack = error.stack;
  if (isParkwayError(error)) {
    out.code = error.code;
    out.context = plainContext(error.context);
  }
  if (error.cause !== undefined && depth < 4) out.cause = serializeError(error.cause, depth + 1);
  return out;
}

function plainContext(context: ErrorContext): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(context)) {
    if (value === null || ["string", "number", "boolean"].includes(typeof value)) out[key] = value;
  }
  return out;
}

/** A stored error brought back as an `Error` (a `ParkwayError` when it had a code). */
export function deserializeError(stored: SerializedError): Error {
  const cause = stored.cause === undefined ? undefined : deserializeError(stored.cause);
  const error: Error =
    stored.code !== undefined
      ? new StoredParkwayError(stored.code, stored.message, stored.context ?? {}, cause)
      : new Error(stored.message, cause === undefined ? undefined : { cause });
  error.name = stored.name;
  if (stored.stack !== undefined) error.stack = stored.stack;
  return error;
}

class StoredParkwayError extends ParkwayError {
  constructor(code: string, message: string, context: ErrorContext, cause: unknown) {
    super(message, context, { cause });
    (this as { code: string }).code = code;
  }
}
