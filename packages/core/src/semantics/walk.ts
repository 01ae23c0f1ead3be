/**
 * The meaning of every node, written once. `walk` is a generator: it decides
 * what happens next and yields each effect (run a function, wait, take a
 * signal, run branches) to a driver, which performs it and sends the result
 * back. The sync, async and checkpointing executors are drivers only; none of
 * them walks the tree itself.
 *
 * Commit keys are decided here too: a node's `ref`, and `ref#n` for the n-th
 * iteration of a loop. A durable driver that answers an effect from a
 * committed output makes a resumed run skip that step.
 */
import type { StepFn, Workflow } from "../builder/workflow.js";
import { LoopLimitError, RouteKeyError, ValidationError } from "../errors.js";
import type { AwaitSignalNode, Continuation, DelayNode, ForkNode, LoopNode, RouteNode, TaskNode } from "../tree/nodes.js";

/** A node that runs user code: a task, a fork's join, a route's key function, a loop body. */
export type CallNode = TaskNode | ForkNode | RouteNode | LoopNode;

/** Run `fn` on `input`; the driver sends back its output. */
export interface CallEffect {
  readonly type: "call";
  readonly key: string;
  readonly node: CallNode;
  readonly fn: StepFn;
  readonly input: unknown;
  /** A loop iteration's commit replaces the previous iteration's (a loop keeps only its last). */
  readonly replaces?: string;
}
/** Wait `node.ms`; the driver sends back nothing. */
export interface DelayEffect {
  readonly type: "delay";
  readonly key: string;
  readonly node: DelayNode;
}
/** Wait for `node.signal`; the driver sends back the payload (or the `onTimeout` value). */
export interface SignalEffect {
  readonly type: "signal";
  readonly key: string;
  readonly node: AwaitSignalNode;
}
/** Run every branch walk; the driver sends back their outputs, in branch order. */
export interface AllEffect {
  readonly type: "all";
  readonly node: ForkNode;
  readonly branches: readonly { readonly id: string; readonly walk: Walk }[];
}
export type Effect = CallEffect | DelayEffect | SignalEffect | AllEffect;

/** A walk of part of the tree, yielding effects and returning the last step's output. */
export type Walk = Generator<Effect, unknown, unknown>;

/** What a durable driver knows before the walk starts. */
export interface WalkOptions {
  /**
   * The last committed iteration of the loop `ref`, if any. A loop keeps only
   * its last iteration's output, so a resumed loop starts from that one.
   */
  readonly lastIteration?: (ref: string) => number | undefined;
}

/** Walks `workflow` from its root with `input`. */
export function walkWorkflow(workflow: Workflow, input: unknown, options: WalkOptions = {}): Walk {
  return walk(workflow, workflow.root, input, options);
}

function* walk(workflow: Workflow, start: Continuation | null, input: unknown, options: WalkOptions): Walk {
  let value = input;
  for (let node = start; node; node = node.next) {
    switch (node.kind) {
      case "task":
        value = yield call(workflow, node, node.ref, value);
        break;
      case "fork": {
        const branches = node.branches.map((b) => ({ id: b.id, walk: walk(workflow, b.root, value, options) }));
        const outputs = (yield { type: "all", node, branches }) as unknown[];
        value = yield call(workflow, node, node.ref, joinInput(node, outputs));
        break;
      }
      case "route": {
        const key = yield call(workflow, node, node.ref, value);
        value = yield* walk(workflow, routeTarget(node, key), value, options);
        break;
      }
      case "loop":
        value = yield* loop(workflow, node, value, options.lastIteration?.(node.ref) ?? 1);
        break;
      case "delay":
        yield { type: "delay", key: node.ref, node };
        break;
      case "awaitSignal":
        value = yield { type: "signal", key: node.ref, node };
        break;
    }
  }
  return value;
}

function call(workflow: Workflow, node: CallNode, key: string, input: unknown): CallEffect {
  const fn = workflow.functions.get(node.ref);
  if (!fn) throw new ValidationError(`workflow "${workflow.name}" has no function for step "${node.ref}"`, { step: node.ref });
  return { type: "call", key, node, fn, input };
}

/** The join's input: each branch's output under its branch id. */
function joinInput(node: ForkNode, outputs: readonly unknown[]): Record<string, unknown> {
  return Object.fromEntries(node.branches.map((b, i) => [b.id, outputs[i]]));
}

/** The branch for `key`: its own, else the default; a key with neither is an error. */
function routeTarget(node: RouteNode, key: unknown): Continuation {
  const own = node.branches.find((b) => b.key === key);
  if (own) return own.root;
  if (node.defaultBranch) return node.defaultBranch;
  throw new RouteKeyError(`route "${node.ref}" has no branch for key ${JSON.stringify(key) ?? String(key)} and no default`, {
    step: node.ref,
  });
}

/**
 * Iteration n commits as `ref#n`, replacing `ref#(n-1)`; `again` feeds the next iteration, `done`
 * ends the loop. A resumed loop starts at its last committed iteration (`from`), answered from its
 * output, so the input it is given there is never used.
 */
function* loop(workflow: Workflow, node: LoopNode, input: unknown, from: number): Walk {
  let value = input;
  for (let iteration = from; iteration <= node.maxIterations; iteration++) {
    const effect = call(workflow, node, `${node.ref}#${iteration}`, value);
    const answer = yield iteration > 1 ? { ...effect, replaces: `${node.ref}#${iteration - 1}` } : effect;
    if (!isLoopStep(answer)) {
      throw new ValidationError(`loop "${node.ref}" must return LoopResult.again(x) or LoopResult.done(x)`, { step: node.ref });
    }
    if (answer.loop === "done") return answer.value;
    value = answer.value;
  }
  throw new LoopLimitError(`loop "${node.ref}" did not finish within ${node.maxIterations} iterations`, {
    step: node.ref,
    maxIterations: node.maxIterations,
  });
}

function isLoopStep(value: unknown): value is { loop: "again" | "done"; value: unknown } {
  if (typeof value !== "object" || value === null) return false;
  const tag = (value as { loop?: unknown }).loop;
  return tag === "again" || tag === "done";
}
