import type { Workflow } from "../builder/workflow.js";
import { newId } from "../ids.js";
import { type Clock, realClock } from "../clock.js";
import { ensureError, TaskTimeoutError, UnsupportedStepError } from "../errors.js";
import { checkStepInput, checkStepOutput, checkWorkflowInput, settledNow, stepCheck } from "../schema.js";
import { checkOptions, optionNames } from "../options.js";
import { driveSync } from "../semantics/drive.js";
import { backoffMs, isNonRetryable } from "../semantics/retry.js";
import type { CallEffect } from "../semantics/walk.js";
import { delayMsAt, walkWorkflow } from "../semantics/walk.js";
import { rejectSignalWaits, runTimeout, type StepEvent, taskContext } from "./context.js";

export interface RunSyncOptions {
  readonly clock?: Clock;
  /** Called after each step with its output. */
  readonly onStep?: (event: StepEvent) => void;
}

const RUN_SYNC_OPTIONS = optionNames<RunSyncOptions>({ clock: true, onStep: true });

const NEVER_ABORTED = new AbortController().signal;

/**
 * Runs a workflow on this thread, with no durability. Tasks must be
 * synchronous; fork branches run in order; delays and retry backoffs block.
 * A sync task cannot be interrupted: an attempt that ran past its timeout fails
 * with `TaskTimeoutError` once it returns, and a run past the workflow's
 * `timeout` fails with `RunTimeoutError` at its next step.
 *
 * Schemas must validate synchronously here too.
 *
 * @throws UnsupportedStepError when a task returns a promise (naming it), a
 * schema validates asynchronously, or the workflow waits for a signal;
 * ValidationError when the input, or a step's input or output, fails its
 * schema; the task's error when its attempts are spent.
 */
export function runSync<In, Out>(workflow: Workflow<In, Out>, input: In, options: RunSyncOptions = {}): Out {
  checkOptions("runSync", options, RUN_SYNC_OPTIONS);
  rejectSignalWaits(workflow as Workflow, "runSync");
  const clock = options.clock ?? realClock;
  const instanceId = newId();
  const definition = workflow as Workflow;
  const deadline = definition.timeoutMs === undefined ? null : clock.now() + definition.timeoutMs;
  const checkDeadline = () => {
    if (deadline !== null && clock.now() >= deadline) throw runTimeout(definition, instanceId);
  };
  const checkedInput = settledNow(checkWorkflowInput(definition, input), {
    what: `input of workflow "${workflow.name}"`,
    context: { workflow: workflow.name },
  });

  /** A schema failure is deterministic: checked once around the attempts, never retried. */
  const callChecked = (effect: CallEffect): unknown => {
    const step = { ref: effect.node.ref, key: effect.key };
    const input = settledNow(checkStepInput(definition, step, effect.input), stepCheck(definition, step, "input"));
    const { output: raw, attempts } = callWithRetries(effect, input);
    const output = settledNow(checkStepOutput(definition, step, raw), stepCheck(definition, step, "output"));
    options.onStep?.({ key: effect.key, output, attempts });
    return output;
  };

  const callWithRetries = (effect: CallEffect, input: unknown): { output: unknown; attempts: number } => {
    const { maxAttempts, timeoutMs } = effect.node.options;
    for (let attempt = 1; ; attempt++) {
      try {
        const started = clock.now();
        const output = effect.fn(input, taskContext(workflow.name, instanceId, effect.key, attempt, NEVER_ABORTED));
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
        return { output, attempts: attempt };
      } catch (e) {
        const error = ensureError(e);
        if (error instanceof UnsupportedStepError || isNonRetryable(error) || attempt >= maxAttempts) throw error;
        clock.sleepSync(backoffMs(effect.node.options, attempt));
      }
    }
  };

  return driveSync(walkWorkflow(definition, checkedInput), (effect) => {
    checkDeadline();
    switch (effect.type) {
      case "call": {
        const output = callChecked(effect);
        checkDeadline();
        return output;
      }
      case "delay": {
        const ms = delayMsAt(effect.wake, clock.now());
        // A delay that would end past the deadline fails the run at the deadline, not after the delay.
        if (deadline !== null && clock.now() + ms >= deadline) {
          clock.sleepSync(deadline - clock.now());
          throw runTimeout(definition, instanceId);
        }
        clock.sleepSync(ms);
        return undefined;
      }
      case "signal":
        throw new UnsupportedStepError(`runSync cannot wait for signal "${effect.node.signal}"`, { step: effect.key });
    }
  }) as Out;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === "function";
}
