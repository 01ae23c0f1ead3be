import type { FlowLimitSpecs, LimitSpecs } from "../flow-control/options.js";
import type { StandardSchemaV1, StepSchemas } from "../schema.js";
import type { RetentionMs } from "../store/types.js";
import type { Continuation, StepOptions } from "../tree/nodes.js";
import type { TaskContext } from "./task.js";

/** Any function a step runs: a task, a join, a route's key function, a loop body. */
export type StepFn = (input: unknown, ctx: TaskContext) => unknown;

declare const types: unique symbol;

/**
 * Set by `build()` on every workflow it makes, so `start` and the registries
 * refuse look-alikes (`{ kind: "workflow" }`) before they reach a store. From
 * the global symbol registry, so a workflow built by one copy of
 * `@parkway/core` is recognised by another (as errors are, see errors.ts).
 */
export const BUILT: unique symbol = Symbol.for("parkway.workflow");

/** True for a workflow made by `flow(...).build()` (by any copy of `@parkway/core`). */
export function isBuiltWorkflow(value: unknown): value is Workflow {
  return typeof value === "object" && value !== null && (value as { [BUILT]?: unknown })[BUILT] === true;
}

/**
 * A built workflow: its name, the hash of its shape and the root of its
 * continuation tree. `functions` maps each node's `ref` to the code it runs,
 * `stepSchemas` to the schemas that check its payloads.
 */
export interface Workflow<In = unknown, Out = unknown> {
  readonly kind: "workflow";
  readonly name: string;
  readonly hash: string;
  readonly root: Continuation;
  readonly functions: ReadonlyMap<string, StepFn>;
  /**
   * Checks the workflow's input at `start` (and at the start of an in-process run).
   * Schemas are code, like `functions`: they are not part of `hash`.
   */
  readonly inputSchema?: StandardSchemaV1;
  /**
   * How long a run may take from its start, in ms (`flow(name, { timeout })`): past it the run fails
   * with `RunTimeoutError`. Part of `hash` when set. Not applied when the workflow runs inside another.
   */
  readonly timeoutMs?: number;
  /**
   * What undoes each task that has a `compensate`, by node `ref` (code, not part of `hash`); see
   * `semantics/compensation.ts` for how a commit key finds its entry.
   */
  readonly compensations?: ReadonlyMap<string, Compensation>;
  /**
   * The workflows its `.child(...)` steps start as runs of their own, by node `ref` (the tree names
   * them; a registry that takes this workflow registers them too).
   */
  readonly childWorkflows?: ReadonlyMap<string, Workflow>;
  /** How long finished runs of this workflow are kept, over the namespace's (from `flow(name, { retention })`). */
  readonly retention?: RetentionMs;
  /** The schemas of the steps that have any, by node `ref`. */
  readonly stepSchemas?: ReadonlyMap<string, StepSchemas>;
  /** The payload schemas of the signals it waits for that have any, by signal name (code, not part of `hash`). */
  readonly signalSchemas?: ReadonlyMap<string, StandardSchemaV1>;
  /** The run-level concurrency and rate limits and priority (`flow(name, { concurrency, rateLimit, priority })`; code, not part of `hash`). */
  readonly limits?: FlowLimitSpecs;
  /** The limits of the tasks that have any, by node `ref` (code, not part of `hash`). */
  readonly stepLimits?: ReadonlyMap<string, LimitSpecs>;
  /** Type-level only: carries the input and output types. */
  readonly [types]?: { readonly in: (input: In) => void; readonly out: Out };
}

/** A task's `compensate` and the retry policy and timeout it runs with (the task's own). */
export interface Compensation {
  readonly fn: StepFn;
  readonly options: StepOptions;
}

/** The input type of a workflow. */
export type WorkflowInput<W> = W extends Workflow<infer I, unknown> ? I : never;
/** The output type of a workflow. */
export type WorkflowOutput<W> = W extends Workflow<never, infer O> ? O : never;
