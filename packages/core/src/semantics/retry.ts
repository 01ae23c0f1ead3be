/**
 * Running one step's function: attempts, per-attempt timeouts, and the backoff
 * between attempts. Shared by the async and checkpointing executors; the sync
 * executor uses `backoffMs` with a blocking loop of its own.
 */
import pRetry, { AbortError } from "p-retry";
import type { TaskContext } from "../builder/task.js";
import type { StepFn } from "../builder/workflow.js";
import { listenForAbort, type Clock } from "../clock.js";
import { AttemptsExhaustedError, ensureError, isParkwayError, NonRetryableError, TaskTimeoutError } from "../errors.js";
import type { StepOptions } from "../tree/nodes.js";

/**
 * How many attempts a step may start in all before the deaths of its workers fail it,
 * whatever its `maxAttempts`: a task that keeps killing its worker is failed after 3
 * starts, as BullMQ fails a job that stalls more than `maxStalledCount` times, while a
 * plain crash of a worker never costs a step with `maxAttempts: 1` its run.
 */
export const ATTEMPTS_WHEN_WORKERS_DIE = 3;

/** Wait before the attempt after `failedAttempt` (1-based). */
export function backoffMs(options: StepOptions, failedAttempt: number): number {
  const { initialMs, factor, maxMs } = options.backoff;
  return Math.min(maxMs, Math.round(initialMs * factor ** (failedAttempt - 1)));
}

/** True when an error must not be retried: the task said so. */
export function isNonRetryable(error: unknown): boolean {
  return isParkwayError(error, NonRetryableError.code);
}

/** Thrown instead of waiting when the next retry's backoff is longer than the caller wants to hold a worker. */
export class RetryLater extends Error {
  constructor(
    readonly nextAttempt: number,
    readonly delayMs: number,
    readonly lastError: Error,
  ) {
    super(`retry attempt ${nextAttempt} in ${delayMs}ms`);
  }
}

export interface StepRun {
  readonly fn: StepFn;
  readonly input: unknown;
  readonly options: StepOptions;
  readonly clock: Clock;
  /** The step's commit key, for error messages. */
  readonly key: string;
  /** Builds the context of attempt `attempt`. */
  readonly context: (attempt: number, signal: AbortSignal) => TaskContext;
  /** First attempt number (greater than 1 when a parked retry resumes). */
  readonly firstAttempt?: number;
  /** Backoffs longer than this throw {@link RetryLater} instead of sleeping. */
  readonly holdRetriesUpToMs?: number;
  /** Aborts the current attempt and stops retrying (run cancelled, worker closing). */
  readonly signal?: AbortSignal;
  /** Errors never retried whatever the policy: the attempt was not allowed to start (its worker lets the run go). */
  readonly final?: (error: Error) => boolean;
  /** Called inside `limit` right before each attempt runs; when it throws, the attempt does not run. */
  readonly beforeAttempt?: (attempt: number) => Promise<void>;
  /** Told when an attempt that started ends, with its error when it failed. */
  readonly afterAttempt?: (attempt: number, error: unknown) => void;
  /** Bounds concurrent attempts; the wait between attempts holds no slot. */
  readonly limit?: <T>(fn: () => Promise<T>) => Promise<T>;
  /** Told of every failed attempt that will be retried. */
  readonly onRetry?: (attempt: number, error: Error, delayMs: number) => void;
}

/** Wraps a task's error so p-retry retries every kind of failure, TypeError included. */
class AttemptFailure extends Error {
  constructor(readonly original: Error) {
    super(original.message);
  }
}

/**
 * Runs a step's function with its retry policy and timeout.
 *
 * `firstAttempt - 1` attempts were started before (they are recorded when they
 * start), some perhaps cut short by the death of their worker. Failures may take
 * attempts up to `maxAttempts`; attempts cut short count too, but a step may
 * always start {@link ATTEMPTS_WHEN_WORKERS_DIE} attempts in all. Past `maxAttempts`
 * (after deaths) a step gets one more attempt, never retried.
 * @throws the task's last error once attempts are spent (at once for `NonRetryableError`),
 * {@link AttemptsExhaustedError} when every attempt allowed was already started,
 * or {@link RetryLater} when the next backoff exceeds `holdRetriesUpToMs`.
 */
export async function runStep(run: StepRun): Promise<unknown> {
  const first = run.firstAttempt ?? 1;
  const { maxAttempts } = run.options;
  const limit = Math.max(maxAttempts, ATTEMPTS_WHEN_WORKERS_DIE);
  if (first > limit) {
    // Every start allowed was spent, the last on a worker that died before the attempt ended.
    throw new AttemptsExhaustedError(
      `step "${run.key}" was already started ${first - 1} times, the last on a worker that died before the attempt ended (at most ${limit} starts)`,
      { step: run.key, maxAttempts, attempts: first - 1 },
    );
  }
  if (first >= maxAttempts) return attemptOnce(run, first);
  const hold = run.holdRetriesUpToMs ?? Number.POSITIVE_INFINITY;
  try {
    return await pRetry(
      async (n) => {
        try {
          return await attemptOnce(run, first + n - 1);
        } catch (e) {
          const error = ensureError(e);
          if (isNonRetryable(error) || run.signal?.aborted || run.final?.(error)) throw new AbortError(new AttemptFailure(error));
          throw new AttemptFailure(error);
        }
      },
      {
        retries: Math.max(0, run.options.maxAttempts - first),
        minTimeout: 0,
        factor: 1,
        randomize: false,
        onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
          if (retriesLeft === 0) return;
          const attempt = first + attemptNumber - 1;
          const original = error instanceof AttemptFailure ? error.original : error;
          const wait = backoffMs(run.options, attempt);
          if (wait > hold) throw new RetryLater(attempt + 1, wait, original);
          run.onRetry?.(attempt, original, wait);
          await run.clock.sleep(wait, run.signal);
        },
      },
    );
  } catch (e) {
    throw e instanceof AttemptFailure ? e.original : e;
  }
}

/** The last (or only) attempt: no retry machinery on the hot path. */
function attemptOnce(run: StepRun, attempt: number): Promise<unknown> {
  const go = async () => {
    await run.beforeAttempt?.(attempt);
    try {
      const output = await runAttempt(run, attempt);
      run.afterAttempt?.(attempt, undefined);
      return output;
    } catch (e) {
      run.afterAttempt?.(attempt, e);
      throw e;
    }
  };
  return run.limit ? run.limit(go) : go();
}

const NEVER_ABORTED = new AbortController().signal;

/** One attempt, aborted through `ctx.signal` when its timeout passes or the run's signal aborts. */
async function runAttempt(run: StepRun, attempt: number): Promise<unknown> {
  // Aborted while the attempt waited for its turn or was being recorded (the run's timeout passed,
  // a race branch lost): it does not start. An abort listener added now would never fire.
  if (run.signal?.aborted) throw ensureError(run.signal.reason);
  const timeoutMs = run.options.timeoutMs;
  if (timeoutMs === null && run.signal === undefined) {
    // Nothing can abort this attempt: skip the controller and the race.
    return run.fn(run.input, run.context(attempt, NEVER_ABORTED));
  }
  const controller = new AbortController();
  const onOuterAbort = () => controller.abort(run.signal?.reason);
  if (run.signal) listenForAbort(run.signal, onOuterAbort);
  const cancelTimer =
    timeoutMs === null
      ? undefined
      : run.clock.setTimer(timeoutMs, () =>
          controller.abort(
            new TaskTimeoutError(`step "${run.key}" attempt ${attempt} timed out after ${timeoutMs}ms`, {
              step: run.key,
              attempt,
              timeoutMs,
            }),
          ),
        );
  try {
    const ctx = run.context(attempt, controller.signal);
    return await Promise.race([Promise.resolve().then(() => run.fn(run.input, ctx)), rejectOnAbort(controller.signal)]);
  } finally {
    cancelTimer?.();
    run.signal?.removeEventListener("abort", onOuterAbort);
  }
}

function rejectOnAbort(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(ensureError(signal.reason));
    else signal.addEventListener("abort", () => reject(ensureError(signal.reason)), { once: true });
  });
}
