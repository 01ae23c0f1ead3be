import type { Workflow } from "../builder/workflow.js";
import { type Clock, realClock } from "../clock.js";
import { ensureError, TaskTimeoutError, UnsupportedStepError } from "../errors.js";
import { driveSync } from "../semantics/drive.js";
import { backoffMs, isNonRetryable } from "../semantics/retry.js";
import type { CallEffect } from "../semantics/walk.js";
import { walkWorkflow } from "../semantics/walk.js";
import { newInstanceId, rejectSignalWaits, type StepEvent, taskContext } from "./context.js";

export interface RunSyncOptions {
  readonly clock?: Clock;
  /** Called after each step with its output. */
  readonly onStep?: (event: StepEvent) => void;
}

const NEVER_ABORTED = new AbortController().signal;

/**
 * Runs a workflow on this thread, with no durability. Tasks must be
 * synchronous; fork branches run in order; delays and retry backoffs block.
 * A sync task cannot be interrupted: an attempt that ran past its timeout fails
 * with `TaskTimeoutError` once it returns.
 *
 * @throws UnsupportedStepError when a task returns a promise (naming it) or the
 * workflow waits for a signal; the task's error when its attempts are spent.
 */
export function runSync<In, Out>(workflow: Workflow<In, Out>, input: In, options: RunSyncOptions = {}): Out {
  rejectSignalWaits(workflow as Workflow, "runSync");
  const clock = options.clock ?? realClock;
  const instanceId = newInstanceId();

  const callWithRetries = (effect: CallEffect): unknown => {
    const { maxAttempts, timeoutMs } = effect.node.options;
    for (let attempt = 1; ; attempt++) {
      try {
        const started = clock.now();
        const output = effect.fn(effect.input, taskContext(workflow.name, instanceId, effect.key, attempt, NEVER_ABORTED));
        if (isThenable(output)) {
          void Promise.resolve(output).catch(() => undefined);
          throw new UnsupportedStepError(`runSync: step "${effect.key}" returned a promise; use runAsync for async tasks`, {
            workflow: workflow.name,
            step: effect.key,
          });
        }
        if (timeoutMs !== null && clock.now() - started > timeoutMs) {
          throw new TaskTimeoutError(`step "${effect.key}" attempt ${attempt} ran past its ${timeoutMs}ms timeout`, {
            step: effect.key,
            attempt,
          });
        }
        options.onStep?.({ key: effect.key, output, attempts: attempt });
        return output;
      } catch (e) {
        const error = ensureError(e);
        if (error instanceof UnsupportedStepError || isNonRetryable(error) || attempt >= maxAttempts) throw error;
        clock.sleepSync(backoffMs(effect.node.options, attempt));
      }
    }
  };

  return driveSync(walkWorkflow(workflow as Workflow, input), (effect) => {
    switch (effect.type) {
      case "call":
        return callWithRetries(effect);
      case "delay":
        clock.sleepSync(effect.node.ms);
        return undefined;
      case "signal":
        throw new UnsupportedStepError(`runSync cannot wait for signal "${effect.node.signal}"`, { step: effect.key });
    }
  }) as Out;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === "function";
}
