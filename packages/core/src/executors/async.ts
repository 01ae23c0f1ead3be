import type { Workflow } from "../builder/workflow.js";
import { type Clock, realClock } from "../clock.js";
import { UnsupportedStepError, ValidationError } from "../errors.js";
import { driveAsync } from "../semantics/drive.js";
import { runStep } from "../semantics/retry.js";
import { walkWorkflow } from "../semantics/walk.js";
import { newInstanceId, rejectSignalWaits, type StepEvent, taskContext } from "./context.js";
import { createLimiter } from "./limit.js";

export interface RunAsyncOptions {
  /** Most step functions running at once across fork branches (default 16). */
  readonly concurrency?: number;
  readonly clock?: Clock;
  /** Aborts running attempts (through `ctx.signal`) and stops the run. */
  readonly signal?: AbortSignal;
  /** Called after each step with its output. */
  readonly onStep?: (event: StepEvent) => void;
}

/**
 * Runs a workflow in this process, with no durability: sync or async tasks,
 * fork branches concurrently (at most `concurrency` functions at once), delays
 * as timers, retries per task policy, per-attempt timeouts.
 *
 * @throws UnsupportedStepError before any step runs when the workflow waits for
 * a signal; the failing task's error once its attempts are spent.
 */
export async function runAsync<In, Out>(workflow: Workflow<In, Out>, input: In, options: RunAsyncOptions = {}): Promise<Out> {
  rejectSignalWaits(workflow as Workflow, "runAsync");
  const concurrency = options.concurrency ?? 16;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new ValidationError(`runAsync: concurrency must be a positive integer, got ${String(concurrency)}`);
  }
  const clock = options.clock ?? realClock;
  const limit = createLimiter(concurrency);
  const instanceId = newInstanceId();

  const output = await driveAsync(walkWorkflow(workflow as Workflow, input), {
    perform: async (effect) => {
      options.signal?.throwIfAborted();
      switch (effect.type) {
        case "call": {
          let attempts = 0;
          const output = await runStep({
            limit,
            fn: effect.fn,
            input: effect.input,
            options: effect.node.options,
            clock,
            key: effect.key,
            ...(options.signal ? { signal: options.signal } : {}),
            context: (attempt, signal) => {
              attempts = attempt;
              return taskContext(workflow.name, instanceId, effect.key, attempt, signal);
            },
          });
          options.onStep?.({ key: effect.key, output, attempts });
          return output;
        }
        case "delay":
          await clock.sleep(effect.node.ms, options.signal);
          return undefined;
        case "signal":
          throw new UnsupportedStepError(`runAsync cannot wait for signal "${effect.node.signal}"`, { step: effect.key });
      }
    },
  });
  return output as Out;
}
