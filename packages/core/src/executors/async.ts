import type { Workflow } from "../builder/workflow.js";
import { newId } from "../ids.js";
import { type Clock, realClock } from "../clock.js";
import { UnsupportedStepError, ValidationError } from "../errors.js";
import { checkStepInput, checkStepOutput, checkWorkflowInput } from "../schema.js";
import { driveAsync, type Scope, type StepEffect } from "../semantics/drive.js";
import { runStep } from "../semantics/retry.js";
import { delayMsAt, walkWorkflow } from "../semantics/walk.js";
import { rejectSignalWaits, runTimeout, type StepEvent, taskContext } from "./context.js";
import { createLimiter } from "./limit.js";
import { checkOptions, optionNames } from "../options.js";

export interface RunAsyncOptions {
  /** Most step functions running at once across fork branches (default 16). */
  readonly concurrency?: number;
  readonly clock?: Clock;
  /** Aborts running attempts (through `ctx.signal`) and stops the run. */
  readonly signal?: AbortSignal;
  /** Called after each step with its output. */
  readonly onStep?: (event: StepEvent) => void;
}

const RUN_ASYNC_OPTIONS = optionNames<RunAsyncOptions>({ concurrency: true, clock: true, signal: true, onStep: true });

/**
 * Runs a workflow in this process, with no durability: sync or async tasks,
 * fork branches, map elements and race branches concurrently (at most
 * `concurrency` functions at once), delays as timers, retries per task policy,
 * per-attempt timeouts. A race's losers are aborted through `ctx.signal`; past
 * the workflow's `timeout` every running task is aborted and the run fails
 * with `RunTimeoutError`.
 *
 * @throws UnsupportedStepError before any step runs when the workflow waits for
 * a signal; ValidationError when the input, or a step's input or output, fails
 * its schema; the failing task's error once its attempts are spent.
 */
export async function runAsync<In, Out>(workflow: Workflow<In, Out>, input: In, options: RunAsyncOptions = {}): Promise<Out> {
  checkOptions("runAsync", options, RUN_ASYNC_OPTIONS);
  rejectSignalWaits(workflow as Workflow, "runAsync");
  const concurrency = options.concurrency ?? 16;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new ValidationError(`runAsync: concurrency must be a positive integer, got ${String(concurrency)}`);
  }
  const clock = options.clock ?? realClock;
  const limit = createLimiter(concurrency);
  const instanceId = newId();
  const checkedInput = await checkWorkflowInput(workflow as Workflow, input);
  const timeoutMs = (workflow as Workflow).timeoutMs;
  const run = new AbortController();
  const stopRun = () => run.abort(options.signal?.reason);
  options.signal?.addEventListener("abort", stopRun, { once: true });
  if (options.signal?.aborted) stopRun();
  const cancelTimeout =
    timeoutMs === undefined ? null : clock.setTimer(timeoutMs, () => run.abort(runTimeout(workflow as Workflow, instanceId)));
  try {
    return (await driveAsync(walkWorkflow(workflow as Workflow, checkedInput), { perform }, { signal: run.signal })) as Out;
  } finally {
    cancelTimeout?.();
    options.signal?.removeEventListener("abort", stopRun);
  }

  async function perform(effect: StepEffect, scope: Scope): Promise<unknown> {
    scope.signal.throwIfAborted();
    switch (effect.type) {
      case "call": {
        const step = { ref: effect.node.ref, key: effect.key };
        const stepInput = await checkStepInput(workflow as Workflow, step, effect.input);
        let attempts = 0;
        const raw = await runStep({
          limit,
          fn: effect.fn,
          input: stepInput,
          options: effect.node.options,
          clock,
          key: effect.key,
          signal: scope.signal,
          context: (attempt, signal) => {
            attempts = attempt;
            return taskContext(workflow.name, instanceId, effect.key, attempt, signal);
          },
        });
        // Outside runStep: a schema failure is deterministic, never retried.
        const output = await checkStepOutput(workflow as Workflow, step, raw);
        options.onStep?.({ key: effect.key, output, attempts });
        return output;
      }
      case "delay":
        await clock.sleep(delayMsAt(effect.wake, clock.now()), scope.signal);
        return undefined;
      case "signal":
        throw new UnsupportedStepError(`runAsync cannot wait for signal "${effect.node.signal}"`, { step: effect.key });
    }
  }
}
