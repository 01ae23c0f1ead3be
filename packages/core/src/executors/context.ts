import { MAX_PROGRESS_BYTES, type TaskContext } from "../builder/task.js";
import { encode } from "../codec/codec.js";
import type { Workflow } from "../builder/workflow.js";
import { RunTimeoutError, UnsupportedStepError } from "../errors.js";
import { nodesOf } from "../tree/nodes.js";

/**
 * The idempotency key of a step: `<instance id>/<commit key>`, stable per
 * instance and commit key, with `%` and `/` in the instance id written as
 * `%25` and `%2F`. Commit keys hold `/` (`charge/card`) and instance ids may,
 * so without the escape run `order-7` step `charge/card` and run
 * `order-7/charge` step `card` would share a key. Escaped, the first `/` always
 * ends the instance id, so two steps never share a key; an id without `%` or
 * `/` reads as it is (`order-7/charge/card`).
 */
export function idempotencyKey(instanceId: string, key: string): string {
  return `${instanceId.replace(/[%/]/g, (c) => (c === "%" ? "%25" : "%2F"))}/${key}`;
}

/**
 * A task's context. `heartbeat` is what `ctx.heartbeat` does with the encoded details; by
 * default (in-process runs) nothing: the details are still checked, so a task behaves the same
 * under every executor.
 */
export function taskContext(
  workflow: string,
  instanceId: string,
  stepId: string,
  attempt: number,
  signal: AbortSignal,
  heartbeat: (details: Uint8Array) => void = () => {},
): TaskContext {
  const what = `heartbeat details of step "${stepId}" of run "${instanceId}"`;
  return {
    workflow,
    instanceId,
    stepId,
    attempt,
    idempotencyKey: idempotencyKey(instanceId, stepId),
    signal,
    heartbeat: (details?: unknown) =>
      heartbeat(encode(details, { what, maxBytes: MAX_PROGRESS_BYTES, context: { instanceId, workflow, step: stepId } })),
  };
}

/**
 * In-process executors cannot wait for a signal: nothing could deliver one.
 * Reject before any step runs, naming the step and the signal.
 */
export function rejectSignalWaits(workflow: Workflow, executor: string): void {
  for (const node of nodesOf(workflow.root)) {
    if (node.kind === "awaitSignal") {
      throw new UnsupportedStepError(
        `${executor} cannot run step "${node.ref}": it waits for signal "${node.signal}", which needs a durable run (createMemoryEngine or a WorkflowWorker)`,
        { workflow: workflow.name, step: node.ref, signal: node.signal },
      );
    }
  }
}

/** What an in-process executor reports after each step. */
export interface StepEvent {
  readonly key: string;
  readonly output: unknown;
  readonly attempts: number;
}

/** The error of a run that went on past its workflow's timeout. */
export function runTimeout(workflow: Workflow, instanceId: string): RunTimeoutError {
  return new RunTimeoutError(`run "${instanceId}" of workflow "${workflow.name}" ran past its ${workflow.timeoutMs}ms timeout`, {
    workflow: workflow.name,
    instanceId,
    timeoutMs: workflow.timeoutMs,
  });
}
