import { type Duration, toMs } from "../duration.js";
import { ValidationError } from "../errors.js";
import { concurrencySpec, rateSpec, type ConcurrencyLimit, type LimitSpecs, type RateLimit } from "../flow-control/options.js";
import { checkOptions, optionNames } from "../options.js";
import { assertSchema, type SchemaInput, type SchemaOutput, type StandardSchemaV1, type StepSchemas } from "../schema.js";
import type { StepOptions } from "../tree/nodes.js";
import { assertWellFormed } from "../well-formed.js";

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
  /**
   * Stable per instance and commit key: use it to make the task's own side effects idempotent.
   * It is `<instance id>/<stepId>` with `%` and `/` in the instance id escaped as `%25` and `%2F`
   * (run `order-7`, step `charge/card`: `order-7/charge/card`; run `order-7/charge`, step `card`:
   * `order-7%2Fcharge/card`), so no two steps of any runs share one.
   */
  readonly idempotencyKey: string;
  /** Aborts when the attempt's timeout passes or the run is cancelled. */
  readonly signal: AbortSignal;
  /**
   * Reports that a long step is alive and how far it got. In a durable run it renews the run's
   * lease at once (the worker also renews it while its process lives) and records `details` as
   * the step's latest progress, shown by `status()` (`progress`) and `parkway status`. Writes are
   * coalesced: call it as often as you like, the latest details win. `details` is encoded by the
   * codec and bounded to {@link MAX_PROGRESS_BYTES} (`CodecError`, `PayloadTooLargeError`, thrown
   * here). Under `runSync` and `runAsync` it checks `details` and records nothing.
   */
  heartbeat(details?: unknown): void;
}

/** The largest encoded `details` a heartbeat records: progress is a hint for people, not a payload. */
export const MAX_PROGRESS_BYTES = 16 * 1024;

/**
 * Undoes a committed task when its run fails later: gets the task's committed output and a
 * context of its own (`stepId` is `<commit key>#compensate`, as is its idempotency key's step).
 */
export type CompensateFn<Out> = (output: Out, ctx: TaskContext) => void | Promise<void>;

/** A task's function: sync or async. */
export type TaskFn<In, Out> = (input: In, ctx: TaskContext) => Out | Promise<Out>;

/** How a step is retried: `maxAttempts` counts the first attempt; backoff grows from `initial` by `factor` up to `max`. */
export interface RetryOptions {
  /**
   * How many attempts the task's failures may take, the first included (default 1: no retry).
   * An attempt cut short by the death of its worker counts too, but a step may always start
   * at least 3 attempts in all (`ATTEMPTS_WHEN_WORKERS_DIE`): a plain crash never fails a run,
   * while a task that keeps killing its worker is failed after 3 starts (`ATTEMPTS_EXHAUSTED`),
   * as BullMQ fails a job that stalls more than `maxStalledCount` times.
   */
  readonly maxAttempts: number;
  readonly backoff?: BackoffOptions;
}
/** How long a retry waits: from `initial` (default 1s), times `factor` (default 2) each time, up to `max` (default 1m). */
export interface BackoffOptions {
  readonly initial?: Duration;
  readonly factor?: number;
  readonly max?: Duration;
}

/** How a task is retried and timed out. */
export interface TaskOptions {
  /** `maxAttempts` counts the first attempt; backoff grows from `initial` by `factor` up to `max`. */
  readonly retry?: RetryOptions;
  /** Per attempt; when it passes, `ctx.signal` aborts and the attempt fails with `TaskTimeoutError`. */
  readonly timeout?: Duration;
}

/**
 * A task's flow control (durable runs; see the README's "Flow control"): at most `concurrency.limit`
 * executions of the task at once across every run and worker, and at most `rateLimit.limit` attempts
 * per sliding `rateLimit.period`, per `key(input)` or globally. A step waiting for a slot holds no worker.
 */
export interface TaskLimitOptions<In = never> {
  readonly concurrency?: ConcurrencyLimit<In>;
  readonly rateLimit?: RateLimit<In>;
}

/** What only a task (not a join or a loop body) takes besides {@link TaskOptions}. */
export interface TaskOnlyOptions<Out> {
  /**
   * Undoes the task's effect when the run fails after the task committed (a saga): in a
   * durable run, the `compensate` of every committed step runs in reverse commit order, each
   * with this task's retry policy and timeout, each committed once; then the run ends `failed`
   * with its original error. See the README's "Compensation".
   */
  readonly compensate?: CompensateFn<Out>;
}

/** The option names of a step function (a join, a loop body): one list, checked against {@link TaskOptions}. */
export const TASK_OPTION_NAMES = optionNames<TaskOptions>({ retry: true, timeout: true });
const TASK_AND_SCHEMA_OPTION_NAMES = optionNames<TaskOptions & TaskSchemaOptions & TaskLimitOptions & TaskOnlyOptions<unknown>>({
  retry: true,
  timeout: true,
  input: true,
  output: true,
  concurrency: true,
  rateLimit: true,
  compensate: true,
});
const RETRY_OPTION_NAMES = optionNames<RetryOptions>({ maxAttempts: true, backoff: true });
const BACKOFF_OPTION_NAMES = optionNames<BackoffOptions>({ initial: true, factor: true, max: true });

/** A named unit of work, usable in any flow with `.then(task)` or as a branch. */
export interface Task<In, Out> {
  readonly kind: "task";
  readonly id: string;
  readonly fn: TaskFn<In, Out>;
  readonly options: StepOptions;
  /** Payload schemas, when the task was given any. With an input schema, `fn` is called with the schema's output. */
  readonly schemas?: StepSchemas;
  /** Its concurrency and rate limits, when it was given any (code, like `fn`: not part of a workflow's hash). */
  readonly limits?: LimitSpecs;
  /**
   * Undoes the task when its run fails later (code, like `fn`: not part of the workflow's hash).
   * Typed loosely here so a task stays assignable where any task is taken; `task()` types it.
   */
  readonly compensate?: (output: never, ctx: TaskContext) => void | Promise<void>;
}

/**
 * A task's payload schemas (any Standard Schema: zod, valibot, arktype, ...).
 * The input is checked before the task runs, the output after it returns; a
 * value that fails fails the run with `ValidationError` naming the step, and is
 * never retried (validation is deterministic). Schemas do not change `workflow.hash`.
 */
export interface TaskSchemaOptions {
  readonly input?: StandardSchemaV1 | undefined;
  readonly output?: StandardSchemaV1 | undefined;
}

export const DEFAULT_STEP_OPTIONS: StepOptions = Object.freeze({
  maxAttempts: 1,
  backoff: Object.freeze({ initialMs: 1000, factor: 2, maxMs: 60_000 }),
  timeoutMs: null,
});

/**
 * Defines a task checked by an input and an output schema: its types are the
 * schemas' (the function gets the input schema's output and returns what the
 * output schema accepts).
 *
 * Failure semantics: as for a task without schemas (see the last overload); a
 * value that fails a schema fails the run and is never retried.
 * @throws ValidationError for an empty id, a missing function, bad options or a schema that is not a Standard Schema.
 */
export function task<SI extends StandardSchemaV1, SO extends StandardSchemaV1>(
  id: string,
  fn: TaskFn<SchemaOutput<SI>, SchemaInput<SO>>,
  options: TaskOptions &
    TaskOnlyOptions<SchemaOutput<SO>> &
    TaskLimitOptions<SchemaOutput<SI>> & { readonly input: SI; readonly output: SO },
): Task<SchemaInput<SI>, SchemaOutput<SO>>;
/**
 * Defines a task whose input is checked by a schema (the function gets the schema's output).
 *
 * Failure semantics: as for a task without schemas (see the last overload); a
 * value that fails a schema fails the run and is never retried.
 */
export function task<SI extends StandardSchemaV1, Out>(
  id: string,
  fn: TaskFn<SchemaOutput<SI>, Out>,
  options: TaskOptions & TaskOnlyOptions<Out> & TaskLimitOptions<SchemaOutput<SI>> & { readonly input: SI; readonly output?: undefined },
): Task<SchemaInput<SI>, Out>;
/**
 * Defines a task whose output is checked by a schema (what is committed is the schema's output).
 *
 * Failure semantics: as for a task without schemas (see the last overload); a
 * value that fails a schema fails the run and is never retried.
 */
export function task<In, SO extends StandardSchemaV1>(
  id: string,
  fn: TaskFn<In, SchemaInput<SO>>,
  options: TaskOptions & TaskOnlyOptions<SchemaOutput<SO>> & TaskLimitOptions<In> & { readonly input?: undefined; readonly output: SO },
): Task<In, SchemaOutput<SO>>;
/**
 * Defines a task.
 *
 * Failure semantics (how a task is executed in a durable run):
 * - At least once, committed exactly once. The output is committed atomically
 *   with the run's advance; once that commit is acknowledged, the step never
 *   runs again in this run: a resumed run takes its output from the commit.
 * - The function can run more than once for one step: another attempt after a
 *   failure or a timeout (up to `retry.maxAttempts`; `ctx.attempt` counts
 *   them; a timed-out attempt may still have had its effect); and, whatever
 *   the retry policy, when the process dies, or its lease lapses (an event
 *   loop blocked longer than `lease`), after the function returned and before
 *   its commit landed, or when a Redis failover or AOF rollback loses an
 *   acknowledged commit. Then another worker runs the step again.
 * - Make side effects outside Parkway idempotent with `ctx.idempotencyKey`:
 *   the same for every attempt of the step, on every worker.
 * - `ctx.signal` aborts when the attempt's timeout passes, when the run is
 *   cancelled or paused at a step boundary, and when the worker lets the run
 *   go; stop the work when it does. `NonRetryableError` fails the run at once.
 * - Under `runSync` and `runAsync` nothing is committed: a crash loses the run.
 * @throws ValidationError for an empty id, a missing function or bad options.
 */
export function task<In, Out>(
  id: string,
  fn: TaskFn<In, Out>,
  options?: TaskOptions & TaskLimitOptions<In> & TaskOnlyOptions<NoInfer<Out>>,
): Task<In, Out>;
export function task(
  id: string,
  fn: TaskFn<never, unknown>,
  options: TaskOptions & TaskSchemaOptions & TaskLimitOptions<unknown> & TaskOnlyOptions<unknown> = {},
): Task<never, unknown> {
  assertName(id, "task id");
  if (typeof fn !== "function") throw new ValidationError(`task "${id}": fn must be a function`, { step: id });
  checkOptions(`task "${id}"`, options, TASK_AND_SCHEMA_OPTION_NAMES);
  const schemas = taskSchemas(options, `task "${id}"`);
  const { concurrency, rateLimit, compensate, ...rest } = options;
  const limits: LimitSpecs = {
    ...(concurrency === undefined ? {} : { concurrency: concurrencySpec(concurrency, `task "${id}"`) }),
    ...(rateLimit === undefined ? {} : { rateLimit: rateSpec(rateLimit, `task "${id}"`) }),
  };
  const limited = concurrency !== undefined || rateLimit !== undefined;
  if (compensate !== undefined && typeof compensate !== "function") {
    throw new ValidationError(`task "${id}": compensate must be a function, got ${compensate === null ? "null" : typeof compensate}`, {
      step: id,
      option: "compensate",
    });
  }
  return Object.freeze({
    kind: "task",
    id,
    fn,
    options: normalizeOptions(rest, `task "${id}"`),
    ...(schemas ? { schemas } : {}),
    ...(limited ? { limits: Object.freeze(limits) } : {}),
    ...(compensate ? { compensate } : {}),
  });
}

/** The schemas among a task's options, checked to be Standard Schemas; undefined when there are none. */
function taskSchemas(options: TaskSchemaOptions, where: string): StepSchemas | undefined {
  if (options === null || typeof options !== "object") return undefined;
  const { input, output } = options;
  if (input === undefined && output === undefined) return undefined;
  if (input !== undefined) assertSchema(input, `${where}: options.input`);
  if (output !== undefined) assertSchema(output, `${where}: options.output`);
  return Object.freeze({ ...(input === undefined ? {} : { input }), ...(output === undefined ? {} : { output }) });
}

/** Turns user-facing options into the normalised form the tree and the hash hold. */
export function normalizeOptions(options: TaskOptions, where: string): StepOptions {
  if (options === null || typeof options !== "object") throw new ValidationError(`${where}: options must be an object`);
  const retry = options.retry;
  if (retry !== undefined) checkOptions(`${where}: retry`, retry, RETRY_OPTION_NAMES);
  if (retry?.backoff !== undefined) checkOptions(`${where}: retry.backoff`, retry.backoff, BACKOFF_OPTION_NAMES);
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

/**
 * @throws ValidationError unless `value` is a non-empty, well-formed string without `/`, `#`, `[` or `]`
 * (used to qualify ids).
 */
export function assertName(value: unknown, what: string): asserts value is string {
  if (typeof value !== "string" || value.trim() === "") {
    throw new ValidationError(`${what} must be a non-empty string, got ${JSON.stringify(value) ?? String(value)}`);
  }
  assertWellFormed(value, what);
  if (/[/#[\]]/.test(value)) {
    throw new ValidationError(`${what} "${value}" must not contain "/", "#", "[" or "]"`, { step: value });
  }
}
