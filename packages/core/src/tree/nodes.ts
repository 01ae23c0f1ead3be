/**
 * The continuation tree: plain, immutable data. Each node names what happens
 * and links to what comes `next`; functions are not in the tree but in the
 * workflow's registry, found by the node's `ref`.
 *
 * `id` is the node's id within the flow that declared it; `ref` is the id
 * qualified by where the node sits (enclosing fork branches, route branches
 * and child flows: `pack/label`, `by-size[small]/ship`). A step's commit key is
 * its `ref`, with each map element and loop iteration it sits in made concrete:
 * the body of map `lines` has refs `lines[]/...` and element 3 commits under
 * `lines[3]/...`; a loop's body function commits iteration n as `ref#n`, a
 * loop's sub-flow body has refs `ref#/...` and commits under `ref#n/...`.
 */
export type Continuation = TaskNode | ForkNode | RouteNode | MapNode | RaceNode | LoopNode | DelayNode | AwaitSignalNode;

/** Retry and timeout settings of a step, normalised to milliseconds. */
export interface StepOptions {
  readonly maxAttempts: number;
  readonly backoff: { readonly initialMs: number; readonly factor: number; readonly maxMs: number };
  readonly timeoutMs: number | null;
}

interface NodeBase {
  readonly id: string;
  readonly ref: string;
  readonly next: Continuation | null;
}

/** Runs the task registered under `ref`; its output is the next step's input. */
export interface TaskNode extends NodeBase {
  readonly kind: "task";
  readonly options: StepOptions;
}

/** Runs every branch on the same input, then the join (registered under `ref`) on `{ [branchId]: output }`. */
export interface ForkNode extends NodeBase {
  readonly kind: "fork";
  readonly branches: readonly ForkBranch[];
  readonly options: StepOptions;
}
export interface ForkBranch {
  readonly id: string;
  readonly root: Continuation;
}

/** Computes a key (the function under `ref`), commits it, and runs that key's branch. */
export interface RouteNode extends NodeBase {
  readonly kind: "route";
  readonly keys: readonly string[];
  readonly branches: readonly RouteBranch[];
  readonly defaultBranch: Continuation | null;
  readonly options: StepOptions;
}
export interface RouteBranch {
  readonly key: string;
  readonly root: Continuation;
}

/**
 * Runs the items function (under `ref`, its output committed), then `body` on
 * every item, at most `concurrency` at once; the output is the array of the
 * elements' outputs, in order. More than `maxItems` items fail the run.
 */
export interface MapNode extends NodeBase {
  readonly kind: "map";
  readonly body: Continuation;
  readonly concurrency: number;
  readonly maxItems: number;
  readonly options: StepOptions;
}

/**
 * Runs every branch on the same input; the first to finish wins and
 * `{ winner, output }` (committed under `ref`) goes on; the others are cancelled.
 */
export interface RaceNode extends NodeBase {
  readonly kind: "race";
  readonly branches: readonly ForkBranch[];
}

/**
 * Runs the body until it answers `done`, at most `maxIterations` times. The
 * body is the function under `ref` (iteration n commits as `ref#n`) or, when
 * `body` is set, a sub-flow (iteration n commits its steps under `ref#n/`).
 * Past `maxIterations` the loop fails, or with `onMax: "exitWithLast"` passes
 * on the last value it was given. `body` and `onMax` are absent when unused,
 * so a loop written before they existed keeps its hash.
 */
export interface LoopNode extends NodeBase {
  readonly kind: "loop";
  readonly maxIterations: number;
  readonly options: StepOptions;
  readonly body?: Continuation;
  readonly onMax?: "exitWithLast";
}

/**
 * Waits `ms`, or, when `ms` is null, what the function under `ref` computes from
 * the input (a duration or a date); passes its input on unchanged.
 */
export interface DelayNode extends NodeBase {
  readonly kind: "delay";
  readonly ms: number | null;
}

/** Waits for the signal `signal`; its payload (or `onTimeout.value`) becomes the next input. */
export interface AwaitSignalNode extends NodeBase {
  readonly kind: "awaitSignal";
  readonly signal: string;
  readonly timeoutMs: number | null;
  readonly onTimeout: { readonly value: unknown } | null;
}

/** Yields every node of the tree, depth first. */
export function* nodesOf(root: Continuation | null): Generator<Continuation> {
  for (let node = root; node; node = node.next) {
    yield node;
    if (node.kind === "fork" || node.kind === "race") for (const b of node.branches) yield* nodesOf(b.root);
    if (node.kind === "map") yield* nodesOf(node.body);
    if (node.kind === "loop" && node.body) yield* nodesOf(node.body);
    if (node.kind === "route") {
      for (const b of node.branches) yield* nodesOf(b.root);
      yield* nodesOf(node.defaultBranch);
    }
  }
}
