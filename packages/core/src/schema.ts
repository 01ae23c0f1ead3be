/**
 * Payload validation with Standard Schema (zod, valibot, arktype, ...): the one
 * place a schema is applied. `start` checks a workflow's input before anything
 * is stored; every executor checks a task's input before the task runs and its
 * output before it is passed on or committed. The value passed on is the
 * schema's output, so a schema's defaults and transforms apply.
 *
 * A schema failure is never retried: validation is deterministic, so another
 * attempt on the same value would fail the same way.
 *
 * Schemas are code, like task functions: they live beside the tree (in
 * `workflow.inputSchema` and `workflow.stepSchemas`), not in it, so adding or
 * editing one never changes `workflow.hash` and never strands a parked run.
 */
import type { StandardSchemaV1 } from "@standard-schema/spec";
import type { Workflow } from "./builder/workflow.js";
import { type ErrorContext, UnsupportedStepError, ValidationError } from "./errors.js";

export type { StandardSchemaV1 };

/** The type a schema accepts. */
export type SchemaInput<S extends StandardSchemaV1> = StandardSchemaV1.InferInput<S>;
/** The type a schema produces. */
export type SchemaOutput<S extends StandardSchemaV1> = StandardSchemaV1.InferOutput<S>;

/** The schemas of one step, by the step's ref. */
export interface StepSchemas {
  /** Checks the step's input before its function runs; the function gets the schema's output. */
  readonly input?: StandardSchemaV1;
  /** Checks the function's return value; the schema's output is what is committed and passed on. */
  readonly output?: StandardSchemaV1;
}

/** One problem a schema found: where (`items[0].sku`, or `(root)`) and what. */
export interface SchemaIssue {
  readonly path: string;
  readonly message: string;
}

/** A value now, or later when a schema validates asynchronously. */
export type MaybePromise<T> = T | Promise<T>;

/** What is being checked, for the error: `input of step "charge"`, and where it happened. */
export interface SchemaCheck {
  readonly what: string;
  readonly context: ErrorContext;
}

/**
 * Validates `value` with `schema` and returns the schema's output value: at
 * once for a synchronous schema, as a promise for an asynchronous one.
 * @throws ValidationError listing every issue with its path (or rejects with it).
 */
export function validateWith(schema: StandardSchemaV1, value: unknown, check: SchemaCheck): MaybePromise<unknown> {
  const result = schema["~standard"].validate(value);
  return isThenable(result) ? Promise.resolve(result).then((r) => settle(r, check)) : settle(result, check);
}

/** The workflow's input after its schema, if it has one. */
export function checkWorkflowInput(workflow: Workflow, input: unknown, instanceId?: string): MaybePromise<unknown> {
  const schema = workflow.inputSchema;
  if (schema === undefined) return input;
  const context = instanceId === undefined ? { workflow: workflow.name } : { workflow: workflow.name, instanceId };
  return validateWith(schema, input, { what: `input of workflow "${workflow.name}"`, context });
}

/** Where a step's payload is checked: the step's ref (its schemas' key) and commit key. */
export interface StepRef {
  readonly ref: string;
  readonly key: string;
  readonly instanceId?: string;
}

/** The step's input after its input schema, if it has one. */
export function checkStepInput(workflow: Workflow, step: StepRef, input: unknown): MaybePromise<unknown> {
  const schema = workflow.stepSchemas?.get(step.ref)?.input;
  return schema === undefined ? input : validateWith(schema, input, stepCheck(workflow, step, "input"));
}

/** The step's output after its output schema, if it has one. */
export function checkStepOutput(workflow: Workflow, step: StepRef, output: unknown): MaybePromise<unknown> {
  const schema = workflow.stepSchemas?.get(step.ref)?.output;
  return schema === undefined ? output : validateWith(schema, output, stepCheck(workflow, step, "output"));
}

/**
 * For `runSync`: the value of a check that must not be asynchronous.
 * @throws UnsupportedStepError naming the check when the schema's `validate` returned a promise.
 */
export function settledNow<T>(value: MaybePromise<T>, check: SchemaCheck): T {
  if (!isThenable(value)) return value;
  void Promise.resolve(value).catch(() => undefined);
  throw new UnsupportedStepError(
    `runSync: the schema of the ${check.what} validates asynchronously (its validate returned a promise); use runAsync or a durable engine`,
    check.context,
  );
}

/** The {@link SchemaCheck} of a step's input or output, for error messages. */
export function stepCheck(workflow: Workflow, step: StepRef, side: "input" | "output"): SchemaCheck {
  const context: ErrorContext = {
    workflow: workflow.name,
    step: step.key,
    ...(step.instanceId === undefined ? {} : { instanceId: step.instanceId }),
  };
  return { what: `${side} of step "${step.key}"`, context };
}

/**
 * @throws ValidationError unless `value` is a Standard Schema (version 1 with a `validate` function),
 * so a wrong option fails when the flow is defined, not when it runs.
 */
export function assertSchema(value: unknown, where: string): asserts value is StandardSchemaV1 {
  const props = (value as { "~standard"?: { version?: unknown; validate?: unknown } } | null | undefined)?.["~standard"];
  if (props?.version !== 1 || typeof props.validate !== "function") {
    throw new ValidationError(`${where} must be a Standard Schema (zod, valibot, arktype, ...): an object with "~standard".validate`);
  }
}

function settle(result: StandardSchemaV1.Result<unknown>, check: SchemaCheck): unknown {
  if (!result.issues) return result.value;
  const issues: SchemaIssue[] = result.issues.map((i) => ({ path: formatPath(i.path), message: i.message }));
  const listed = issues.map((i) => `${i.path}: ${i.message}`).join("; ");
  throw new ValidationError(`${check.what} does not match its schema: ${listed}`, { ...check.context, issues });
}

/** `items[0].sku`, `["odd key"]`, or `(root)` for the value itself. */
function formatPath(path: StandardSchemaV1.Issue["path"]): string {
  if (!path || path.length === 0) return "(root)";
  let out = "";
  for (const segment of path) {
    const key = typeof segment === "object" && segment !== null ? segment.key : segment;
    if (typeof key === "number") out += `[${key}]`;
    else if (typeof key === "string" && /^[A-Za-z_$][\w$]*$/.test(key)) out += out === "" ? key : `.${key}`;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === "function";
}
