/**
 * The meaning of every node, written once. `walk` is a generator: it decides
 * what happens next and yields each effect (run a function, wait, take a
 * signal, run branches, map elements or a race) to a driver, which performs it
 * and sends the result back. The sync, async and checkpointing executors are
 * drivers only; none of them walks the tree itself.
 *
 * Commit keys are decided here too: a node's `ref` made concrete for the map
 * element and loop iteration it sits in (`lines[3]/charge`, `poll#2/check`),
 * and `ref#n` for the n-th call of a loop's body function. A durable driver
 * that answers an effect from a committed output makes a resumed run skip that step.
 *
 * A child step is an effect of its own: a durable driver starts the child as a run of its own
 * and waits for it; an in-process driver walks the child inline (`inline`), as part of the same run.
 *
 * A durable driver keeps only a loop's last iterations (see `replacedKeys` in
 * the checkpoint executor), so a resumed loop starts at the first iteration it
 * kept, which it answers from that iteration's outputs.
 */
import type { StepFn, Workflow } from "../builder/workflow.js";
import { toMs } from "../duration.js";
import { LoopLimitError, MapLimitError, RouteKeyError, ValidationError } from "../errors.js";
import type {
  AwaitSignalNode,
  ChildNode,
  Continuation,
  DelayNode,
  ForkNode,
  LoopNode,
  MapNode,
  RaceNode,
  RouteNode,
  TaskNode,
} from "../tree/nodes.js";

/** A node that runs user code: a task, a fork's join, a route's key function, a map's items function, a loop body. */
export type CallNode = TaskNode | ForkNode | RouteNode | MapNode | LoopNode;

/** Run `fn` on `input`; the driver sends back its output. */
export interface CallEffect {
  readonly type: "call";
  readonly key: string;
  readonly node: CallNode;
  readonly fn: StepFn;
  readonly input: unknown;
}
/** Wait `wake.ms`, or until the epoch time `wake.at`; the driver sends back nothing. */
export interface DelayEffect {
  readonly type: "delay";
  readonly key: string;
  readonly node: DelayNode;
  readonly wake: { readonly ms: number } | { readonly at: number };
}
/** Wait for `node.signal`; the driver sends back the payload (or the `onTimeout` value). */
export interface SignalEffect {
  readonly type: "signal";
  readonly key: string;
  readonly node: AwaitSignalNode;
}
/**
 * Run workflow `workflow` on `input` as a child run; the driver sends back its output. `instanceId`
 * is the id computed by the step's `instanceId` option, or null for the default
 * (`<parent id>/<key>`, which only a durable driver knows). `inline` walks the child in place.
 */
export interface ChildEffect {
  readonly type: "child";
  readonly key: string;
  readonly node: ChildNode;
  readonly workflow: Workflow;
  readonly input: unknown;
  readonly instanceId: string | null;
  readonly inline: () => Walk;
}
/** A walk of one branch of a fork or a race. */
export interface BranchWalk {
  readonly id: string;
  readonly walk: Walk;
}
/** Run every branch walk; the driver sends back their outputs, in branch order. */
export interface AllEffect {
  readonly type: "all";
  readonly node: ForkNode;
  readonly branches: readonly BranchWalk[];
}
/**
 * Run `element(i)` for every i below `count`, at most `node.concurrency` at
 * once; the driver sends back their outputs, in order. An element that waits
 * does not hold up the others.
 */
export interface MapEffect {
  readonly type: "map";
  readonly key: string;
  readonly node: MapNode;
  readonly count: number;
  readonly element: (index: number) => Walk;
}
/**
 * Run the branch walks together; the first to finish wins, the others are
 * cancelled. The driver sends back `{ winner, output }` (a durable driver
 * commits it under `key`, so a resumed run keeps the same winner).
 */
export interface RaceEffect {
  readonly type: "race";
  readonly key: string;
  readonly node: RaceNode;
  readonly branches: readonly BranchWalk[];
}
export type Effect = CallEffect | DelayEffect | SignalEffect | ChildEffect | AllEffect | MapEffect | RaceEffect;

/** What a race passes on: the id of the branch that finished first, and its output. */
export interface RaceOutcome<Id extends string = string, Out = unknown> {
  readonly winner: Id;
  readonly output: Out;
}

/** A walk of part of the tree, yielding effects and returning the last step's output. */
export type Walk = Generator<Effect, unknown, unknown>;

/** Where a walk is: nodes whose refs start with `refPrefix` commit under `keyPrefix` instead. */
interface Place {
  readonly refPrefix: string;
  readonly keyPrefix: string;
}
const TOP: Place = { refPrefix: "", keyPrefix: "" };

/** What a durable driver knows before the walk starts. */
export interface WalkOptions {
  /**
   * The first iteration of the loop committing under `loopKey` that still has
   * outputs, if any. Older iterations were dropped, so a resumed loop starts
   * there: that iteration is complete (or the first), so every step of it is
   * answered from its output (or gets the loop's input), and its decision
   * feeds the next.
   */
  readonly firstKeptIteration?: (loopKey: string) => number | undefined;
}

/** Walks `workflow` from its root with `input`. */
export function walkWorkflow(workflow: Workflow, input: unknown, options: WalkOptions = {}): Walk {
  return walk(workflow, workflow.root, input, TOP, options);
}

function* walk(workflow: Workflow, start: Continuation | null, input: unknown, place: Place, options: WalkOptions): Walk {
  let value = input;
  for (let node = start; node; node = node.next) {
    const key = place.keyPrefix + node.ref.slice(place.refPrefix.length);
    switch (node.kind) {
      case "task":
        value = yield call(workflow, node, key, value);
        break;
      case "fork": {
        const branches = node.branches.map((b) => ({ id: b.id, walk: walk(workflow, b.root, value, place, options) }));
        const outputs = (yield { type: "all", node, branches }) as unknown[];
        value = yield call(workflow, node, key, joinInput(node, outputs));
        break;
      }
      case "route": {
        const chosen = yield call(workflow, node, key, value);
        value = yield* walk(workflow, routeTarget(node, chosen), value, place, options);
        break;
      }
      case "map": {
        // The items are committed like any step output, so a resumed run maps the same list.
        const items = checkItems(node, yield call(workflow, node, key, value));
        const body = node.body;
        const refPrefix = `${node.ref}[]/`;
        const element = (i: number) => walk(workflow, body, items[i], { refPrefix, keyPrefix: `${key}[${i}]/` }, options);
        value = yield { type: "map", key, node, count: items.length, element };
        break;
      }
      case "race": {
        const branches = node.branches.map((b) => ({ id: b.id, walk: walk(workflow, b.root, value, place, options) }));
        value = yield { type: "race", key, node, branches };
        break;
      }
      case "loop":
        value = yield* loop(workflow, node, key, value, options);
        break;
      case "delay":
        yield { type: "delay", key, node, wake: wakeOf(workflow, node, key, value) };
        break;
      case "awaitSignal":
        value = yield { type: "signal", key, node };
        break;
      case "child":
        value = yield child(workflow, node, key, value);
        break;
    }
  }
  return value;
}

function call(workflow: Workflow, node: CallNode, key: string, input: unknown): CallEffect {
  return { type: "call", key, node, fn: functionOf(workflow, node.ref), input };
}

function child(workflow: Workflow, node: ChildNode, key: string, input: unknown): ChildEffect {
  const target = workflow.childWorkflows?.get(node.ref);
  if (!target) throw new ValidationError(`workflow "${workflow.name}" has no child workflow for step "${node.ref}"`, { step: node.ref });
  let instanceId: string | null = null;
  if (node.instanceId) {
    const id = (functionOf(workflow, node.ref) as (input: unknown) => unknown)(input);
    if (typeof id !== "string" || id.length === 0 || id.length > 512) {
      throw new ValidationError(`child "${key}": instanceId must return a non-empty string of at most 512 characters`, { step: key });
    }
    instanceId = id;
  }
  return { type: "child", key, node, workflow: target, input, instanceId, inline: () => walkWorkflow(target, input) };
}

function functionOf(workflow: Workflow, ref: string): StepFn {
  const fn = workflow.functions.get(ref);
  if (!fn) throw new ValidationError(`workflow "${workflow.name}" has no function for step "${ref}"`, { step: ref });
  return fn;
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

function checkItems(node: MapNode, items: unknown): readonly unknown[] {
  if (!Array.isArray(items)) {
    throw new ValidationError(`map "${node.ref}": the items function must return an array, got ${items === null ? "null" : typeof items}`, {
      step: node.ref,
    });
  }
  if (items.length > node.maxItems) {
    throw new MapLimitError(`map "${node.ref}" got ${items.length} items, more than its maxItems of ${node.maxItems}`, {
      step: node.ref,
      items: items.length,
      maxItems: node.maxItems,
    });
  }
  return items;
}

/**
 * When a delay ends: its literal duration, or what its function computes from
 * the input (a duration, or a date to wake at; a past date wakes at once). A
 * durable driver fixes the deadline the first time the run parks on it.
 */
function wakeOf(workflow: Workflow, node: DelayNode, key: string, input: unknown): DelayEffect["wake"] {
  if (node.ms !== null) return { ms: node.ms };
  const when = (functionOf(workflow, node.ref) as (input: unknown) => unknown)(input);
  if (when instanceof Date) {
    const at = when.getTime();
    if (Number.isNaN(at)) throw new ValidationError(`delay "${key}" computed an invalid date`, { step: key });
    return { at };
  }
  return { ms: toMs(when, `delay "${key}" computed`) };
}

/**
 * Iteration n of a body function commits as `key#n`; a sub-flow body commits
 * its steps under `key#n/`. `again` feeds the next iteration, `done` ends the loop.
 * A resumed loop starts at the first iteration the run kept (see {@link WalkOptions}):
 * the input it is given there is never used unless that is the first iteration.
 */
function* loop(workflow: Workflow, node: LoopNode, key: string, input: unknown, options: WalkOptions): Walk {
  let value = input;
  const from = options.firstKeptIteration?.(key) ?? 1;
  for (let iteration = from; iteration <= node.maxIterations; iteration++) {
    const answer = node.body
      ? yield* walk(workflow, node.body, value, { refPrefix: `${node.ref}#/`, keyPrefix: `${key}#${iteration}/` }, options)
      : yield call(workflow, node, `${key}#${iteration}`, value);
    if (!isLoopStep(answer)) {
      throw new ValidationError(`loop "${node.ref}" must return LoopResult.again(x) or LoopResult.done(x)`, { step: node.ref });
    }
    if (answer.loop === "done") return answer.value;
    value = answer.value;
  }
  if (node.onMax === "exitWithLast") return value;
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

/** How long a delay still has to wait at `now` (never negative: a past date wakes at once). */
export function delayMsAt(wake: DelayEffect["wake"], now: number): number {
  return "ms" in wake ? wake.ms : Math.max(0, wake.at - now);
}
