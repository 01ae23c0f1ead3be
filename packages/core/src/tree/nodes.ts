/**
 * The continuation tree: plain, immutable data. Each node names what happens
 * and links to what comes `next`; functions are not in the tree but in the
 * workflow's registry, found by the node's `ref`.
 *
 * `id` is the node's id within the flow that declared it; `ref` is the id
 * qualified by where the node sits (enclosing fork branches, route branches
 * and child flows: `pack/label`, `by-size[small]/ship`). A step's commit key is
 * its `ref`, plus `#n` for the n-th iteration of a loop.
 */
export type Continuation = TaskNode | ForkNode | RouteNode | LoopNode | DelayNode | AwaitSignalNode;

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

/** Runs the body under `ref` until it answers `done`, at most `maxIterations` times; each iteration commits. */
export interface LoopNode extends NodeBase {
  readonly kind: "loop";
  readonly maxIterations: number;
  readonly options: StepOptions;
}

/** Waits `ms`; passes its input on unchanged. */
export interface DelayNode extends NodeBase {
  readonly kind: "delay";
  readonly ms: number;
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
    if (node.kind === "fork") for (const b of node.branches) yield* nodesOf(b.root);
    if (node.kind === "route") {
      for (const b of node.branches) yield* nodesOf(b.root);
      yield* nodesOf(node.defaultBranch);
    }
  }
}
