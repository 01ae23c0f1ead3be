import { type Duration, toMs } from "../duration.js";
import { ValidationError } from "../errors.js";
import type { StepOptions } from "../tree/nodes.js";

/** What a task receives besides its input. */
export interface TaskContext {
  /** Name of the workflow being run. */
  readonly workflow: string;
  /** The run's instance id (generated for in-process runs). */
  readonly instanceId: string;
  /** The step's commit key: its id qualified by fork branch, child flow and loop iteration. */
  readonly stepId: string;
  /** 1 for the first attempt, 2 for the first retry, ... */
  readonly attempt: number;
  /** Stable per instance and commit key: use it to make the task's own side effects idempotent. */
  readonly idempotencyKey: string;
  /** Aborts when the attempt's timeout passes or the run is cancelled. */
  readonly signal: AbortSignal;
}

/** A task's function: sync or async. */
export type TaskFn<In, Out> = (input: In, ctx: TaskContext) => Out | Promise<Out>;

/** How a task is retried and timed out. */
export interface TaskOptions {
  /** `maxAttempts` counts the first attempt; backoff grows from `initial` by `factor` up to `max`. */
  readonly retry?: {
    readonly maxAttempts: number;
    readonly backoff?: { readonly initial?: Duration; readonly factor?: number; readonly max?: Duration };
  };
  /** Per attempt; when it passes, `ctx.signal` aborts and the attempt fails with `TaskTimeoutError`. */
  readonly timeout?: Duration;
}

/** A named unit of work, usable in any flow with `.then(task)` or as a branch. */
export interface Task<In, Out> {
  readonly kind: "task";
  readonly id: string;
  readonly fn: TaskFn<In, Out>;
  readonly options: StepOptions;
}

export const DEFAULT_STEP_OPTIONS: StepOptions = Object.freeze({
  maxAttempts: 1,
  backoff: Object.freeze({ initialMs: 1000, factor: 2, maxMs: 60_000 }),
  timeoutMs: null,
});

/**
 * Defines a task.
 * @throws ValidationError for an empty id, a missing function or bad options.
 */
export function task<In, Out>(id: string, fn: TaskFn<In, Out>, options: TaskOptions = {}): Task<In, Out> {
  assertName(id, "task id");
  if (typeof fn !== "function") throw new ValidationError(`task "${id}": fn must be a function`, { step: id });
  return Object.freeze({ kind: "task", id, fn, options: normalizeOptions(options, `task "${id}"`) });
}

/** Turns user-facing options into the normalised form the tree and the hash hold. */
export function normalizeOptions(options: TaskOptions, where: string): StepOptions {
  if (options === null || typeof options !== "object") throw new ValidationError(`${where}: options must be an object`);
  const retry = options.retry;
  const maxAttempts = retry?.maxAttempts ?? 1;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
    throw new ValidationError(`${where}: retry.maxAttempts must be a positive integer, got ${String(maxAttempts)}`);
  }
  const b = retry?.backoff ?? {};
  const factor = b.factor ?? 2;
  if (typeof factor !== "number" || !Number.isFinite(factor) || factor < 1) {
    throw new ValidationError(`${where}: retry.backoff.factor must be a number >= 1, got ${String(factor)}`);
  }
  return Object.freeze({
    maxAttempts,
    backoff: Object.freeze({
      initialMs: toMs(b.initial ?? 1000, `${where} retry.backoff.initial`),
      factor,
      maxMs: toMs(b.max ?? "1m", `${where} retry.backoff.max`),
    }),
    timeoutMs: options.timeout === undefined ? null : toMs(options.timeout, `${where} timeout`),
  });
}

/** @throws ValidationError unless `value` is a non-empty string without `/`, `#`, `[` or `]` (used to qualify ids). */
export function assertName(value: unknown, what: string): asserts value is string {
  if (typeof value !== "string" || value.trim() === "") {
    throw new ValidationError(`${what} must be a non-empty string, got ${JSON.stringify(value) ?? String(value)}`);
  }
  if (/[/#[\]]/.test(value)) {
    throw new ValidationError(`${what} "${value}" must not contain "/", "#", "[" or "]"`, { step: value });
  }
}
