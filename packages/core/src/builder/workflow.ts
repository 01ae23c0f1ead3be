import type { Continuation } from "../tree/nodes.js";
import type { TaskContext } from "./task.js";

/** Any function a step runs: a task, a join, a route's key function, a loop body. */
export type StepFn = (input: unknown, ctx: TaskContext) => unknown;

declare const types: unique symbol;

/**
 * A built workflow: its name, the hash of its shape and the root of its
 * continuation tree. `functions` maps each node's `ref` to the code it runs.
 */
export interface Workflow<In = unknown, Out = unknown> {
  readonly kind: "workflow";
  readonly name: string;
  readonly hash: string;
  readonly root: Continuation;
  readonly functions: ReadonlyMap<string, StepFn>;
  /** Type-level only: carries the input and output types. */
  readonly [types]?: { readonly in: (input: In) => void; readonly out: Out };
}

/** The input type of a workflow. */
export type WorkflowInput<W> = W extends Workflow<infer I, unknown> ? I : never;
/** The output type of a workflow. */
export type WorkflowOutput<W> = W extends Workflow<never, infer O> ? O : never;
