/**
 * A run drawn as its continuation tree: each node of the workflow with the
 * state of its step in this run. One model for every view of a run (the CLI's
 * `status`, the dashboard), so what "parked" or "not reached" means is decided once.
 */
import type { Workflow } from "../builder/workflow.js";
import type { SerializedError } from "../errors.js";
import type { Wait } from "../store/types.js";
import type { Continuation } from "../tree/nodes.js";
import type { RunView, StepView } from "./client.js";
import { NO_TIMING, timingOf, type StepTiming } from "./run-views.js";

/** Where a step stands in a run. */
export type StepState = "committed" | "running" | "parked" | "failed" | "not-reached";

/**
 * One node of the tree with its step's state, and when its step ran and how its attempts ended
 * (`StepTiming`: all null and empty for a step not reached, or one without attempt records).
 */
export interface StepNodeView extends StepTiming {
  readonly kind: Continuation["kind"];
  readonly id: string;
  /** The commit key (for a loop, the key its iterations extend with `#n`). */
  readonly key: string;
  readonly state: StepState;
  /** Attempts spent, once committed (or parked for a retry). */
  readonly attempts: number | null;
  /** The committed output (a route's chosen key, a loop's last answer). */
  readonly output: unknown;
  /** The run's error, on the step that failed. */
  readonly error: SerializedError | null;
  /** What the step waits for while parked: a delay's wake time, a signal name and timeout, a retry. */
  readonly wait: Wait | null;
  /** Delay length, signal name and timeout, loop bound. */
  readonly detail: StepDetail;
  /**
   * Fork branches, route branches (a route marks the one it chose), race
   * branches (a decided race marks its winner), a map's elements (`[0]`, `[1]`,
   * ..., once its items are committed) or a sub-flow loop body's iterations (`#1`, `#2`, ...).
   */
  readonly branches: readonly BranchView[];
  /** A loop body function's iterations, one committed step each. */
  readonly iterations: readonly StepView[];
}

export type StepDetail =
  | { readonly kind: "task" | "fork" | "race" }
  | { readonly kind: "route"; readonly keys: readonly string[] }
  | { readonly kind: "map"; readonly concurrency: number; readonly maxItems: number }
  | { readonly kind: "loop"; readonly maxIterations: number }
  /** `ms` is null for a delay computed from its input. */
  | { readonly kind: "delay"; readonly ms: number | null }
  /** `buffered`: how many signals of that name were sent to the run and not taken yet (from `status().buffered`). */
  | { readonly kind: "awaitSignal"; readonly signal: string; readonly timeoutMs: number | null; readonly buffered: number }
  /** `instanceId` is the child run's id once the step started it (from `status().children`), else null. */
  | { readonly kind: "child"; readonly workflow: string; readonly instanceId: string | null };

export interface BranchView {
  readonly label: string;
  /** For a route: whether the run took this branch; for a race: whether it won (null until decided). */
  readonly chosen: boolean | null;
  readonly steps: readonly StepNodeView[];
}

/** Draws `view` (a run of `workflow`) as its tree with each step's state. */
export function describeRun(workflow: Workflow<never, unknown>, view: RunView): readonly StepNodeView[] {
  const steps = new Map(view.steps.map((s) => [s.key, s]));
  return new TreeDrawer(view, steps).spine(workflow.root, true, TOP).nodes;
}

/** Where a chain is drawn: refs under `refPrefix` are keys under `keyPrefix` (a map element, a loop iteration). */
interface Place {
  readonly refPrefix: string;
  readonly keyPrefix: string;
}
const TOP: Place = { refPrefix: "", keyPrefix: "" };

class TreeDrawer {
  constructor(
    private readonly view: RunView,
    private readonly steps: ReadonlyMap<string, StepView>,
  ) {}

  /** Draws a chain of nodes; `reachable` says the chain's start has been reached. Reports whether the chain completed. */
  spine(start: Continuation | null, reachable: boolean, place: Place): { nodes: StepNodeView[]; complete: boolean } {
    const nodes: StepNodeView[] = [];
    let reached = reachable;
    for (let node: Continuation | null = start; node; node = node.next) {
      const drawn = this.node(node, reached, place);
      nodes.push(drawn);
      reached = isComplete(drawn);
    }
    return { nodes, complete: reached };
  }

  private node(node: Continuation, reached: boolean, place: Place): StepNodeView {
    const key = place.keyPrefix + node.ref.slice(place.refPrefix.length);
    const committed = this.steps.get(key);
    const base = {
      kind: node.kind,
      id: node.id,
      key,
      attempts: null,
      output: committed?.output,
      error: null,
      wait: null,
      detail: detailOf(node, this.view),
      branches: [] as BranchView[],
      iterations: [] as StepView[],
      ...this.timing(key),
    };
    switch (node.kind) {
      case "fork": {
        const branches = node.branches.map((b) => ({ label: b.id, chosen: null, ...this.spine(b.root, reached, place) }));
        const joinReached = reached && branches.every((b) => b.complete);
        return {
          ...this.stated(base, key, committed, joinReached),
          branches: branches.map(({ label, chosen, nodes }) => ({ label, chosen, steps: nodes })),
        };
      }
      case "route": {
        const chosenKey = committed?.output as string | undefined;
        const branches = [
          ...node.branches.map((b) => ({ key: b.key, label: b.key, root: b.root })),
          ...(node.defaultBranch ? [{ key: null, label: "default", root: node.defaultBranch }] : []),
        ];
        const takenLabel = chosenKey === undefined ? undefined : (branches.find((b) => b.key === chosenKey)?.label ?? "default");
        // The route's own step is the committed key; the chosen branch's steps carry their own states.
        const drawn = branches.map((b) => {
          const chosen = takenLabel === undefined ? null : b.label === takenLabel;
          return { label: b.label, chosen, steps: this.spine(b.root, chosen === true, place).nodes };
        });
        return { ...this.stated(base, key, committed, reached), branches: drawn };
      }
      case "race": {
        // The race's own step is its committed outcome; until then every branch is drawn as running.
        const winner = (committed?.output as { winner?: string } | undefined)?.winner;
        const branches = node.branches.map((b) => ({
          label: b.id,
          chosen: winner === undefined ? null : b.id === winner,
          steps: this.spine(b.root, reached, place).nodes,
        }));
        return { ...this.stated(base, key, committed, reached), branches };
      }
      case "map": {
        // The map's own step is its committed items; each element is a branch of its own.
        const items = committed?.output;
        const count = Array.isArray(items) ? items.length : 0;
        const branches = Array.from({ length: count }, (_, i) => ({
          label: `[${i}]`,
          chosen: null,
          steps: this.spine(node.body, true, { refPrefix: `${node.ref}[]/`, keyPrefix: `${key}[${i}]/` }).nodes,
        }));
        return { ...this.stated(base, key, committed, reached), branches };
      }
      case "child": {
        // The step commits the child's outcome; the tree shows the child's output, as the next step sees it.
        const instanceId = this.view.children.find((c) => c.key === key)?.id ?? null;
        const detail: StepDetail = { kind: "child", workflow: node.workflow, instanceId };
        const stated = this.stated({ ...base, detail }, key, committed, reached);
        const outcome = committed?.output as { status?: string; output?: unknown } | undefined;
        return outcome?.status === "completed" ? { ...stated, output: outcome.output } : stated;
      }
      case "loop":
        return node.body ? this.subFlowLoop(node, node.body, base, key, reached) : this.functionLoop(base, key, reached);
      default:
        return this.stated(base, key, committed, reached);
    }
  }

  /** A loop whose body is a function: one committed step per iteration, `key#n` (only the last is kept). */
  private functionLoop(base: Omit<StepNodeView, "state">, key: string, reached: boolean): StepNodeView {
    const iterations = [...this.steps.values()].filter((s) => s.key.startsWith(`${key}#`) && !s.key.includes("/", key.length));
    iterations.sort((a, b) => iterationOf(a.key) - iterationOf(b.key));
    const last = iterations[iterations.length - 1];
    const done = (last?.output as { loop?: string } | undefined)?.loop === "done";
    const current = `${key}#${last ? iterationOf(last.key) + 1 : 1}`;
    // The loop's timing is its latest iteration's: the one running (or retrying), else the last committed.
    const timing = done || this.view.timings[current] === undefined ? (last ?? NO_TIMING) : this.view.timings[current];
    const stated = this.stated(
      { ...base, output: last?.output, attempts: last?.attempts ?? null, ...timingOf(timing) },
      current,
      done ? last : undefined,
      reached,
    );
    return { ...stated, key, iterations };
  }

  /**
   * A loop whose body is a sub-flow: each iteration `#n` is a branch with the body's steps under `key#n/`,
   * from the first iteration the run kept (a loop keeps only its last ones).
   */
  private subFlowLoop(
    node: Continuation,
    body: Continuation,
    base: Omit<StepNodeView, "state">,
    key: string,
    reached: boolean,
  ): StepNodeView {
    const prefix = `${key}#`;
    let count = 0;
    let first = Number.POSITIVE_INFINITY;
    for (const k of this.steps.keys()) {
      if (!k.startsWith(prefix)) continue;
      const n = iterationOf(k.slice(0, k.indexOf("/", prefix.length)));
      count = Math.max(count, n);
      first = Math.min(first, n);
    }
    const branches: BranchView[] = [];
    let complete = false;
    let output: unknown;
    for (let n = count === 0 ? 1 : first; reached && n <= Math.max(1, count); n++) {
      const drawn = this.spine(body, true, { refPrefix: `${node.ref}#/`, keyPrefix: `${key}#${n}/` });
      branches.push({ label: `#${n}`, chosen: null, steps: drawn.nodes });
      complete = drawn.complete;
      output = drawn.nodes[drawn.nodes.length - 1]?.output;
    }
    const done = complete && (output as { loop?: string } | undefined)?.loop === "done";
    const state: StepState = !reached
      ? "not-reached"
      : done
        ? "committed"
        : branches.some((b) => b.steps.some((s) => s.state === "parked"))
          ? "parked"
          : this.stated(base, key, undefined, reached).state;
    return { ...base, output: done ? output : undefined, state, branches };
  }

  /** The timing of the step committed (or running, waiting, failed) under `key`. */
  private timing(key: string): StepTiming {
    return timingOf(this.view.timings[key] ?? NO_TIMING);
  }

  /** The state of a step from its commit, the run's waits, its status and error. */
  private stated(base: Omit<StepNodeView, "state">, key: string, committed: StepView | undefined, reached: boolean): StepNodeView {
    if (committed) return { ...base, state: "committed", attempts: committed.attempts, output: committed.output };
    const wait = this.view.waitingFor.find((w) => w.key === key) ?? null;
    if (wait) return { ...base, state: "parked", wait };
    if (!reached) return { ...base, state: "not-reached" };
    const error = this.view.error;
    if (this.view.status === "failed" && error && (error.step === undefined || error.step === key))
      return { ...base, state: "failed", error };
    if (this.view.status === "running" || this.view.status === "pending") return { ...base, state: "running" };
    return { ...base, state: "not-reached" };
  }
}

/** A step is complete once committed; a route, once its chosen branch is complete too; a map, once every element is. */
function isComplete(node: StepNodeView): boolean {
  if (node.state !== "committed") return false;
  if (node.kind === "route") return node.branches.some((b) => b.chosen === true && b.steps.every(isComplete));
  if (node.kind === "map") return node.branches.every((b) => b.steps.every(isComplete));
  return true;
}

/** What the node is (its kind's settings), with what the run holds for it: the signals buffered for a signal wait. */
function detailOf(node: Continuation, view: RunView): StepDetail {
  switch (node.kind) {
    case "route":
      return { kind: "route", keys: node.keys };
    case "map":
      return { kind: "map", concurrency: node.concurrency, maxItems: node.maxItems };
    case "loop":
      return { kind: "loop", maxIterations: node.maxIterations };
    case "delay":
      return { kind: "delay", ms: node.ms };
    case "awaitSignal":
      return { kind: "awaitSignal", signal: node.signal, timeoutMs: node.timeoutMs, buffered: view.buffered.byName[node.signal] ?? 0 };
    case "child":
      return { kind: "child", workflow: node.workflow, instanceId: null };
    default:
      return { kind: node.kind };
  }
}

function iterationOf(key: string): number {
  return Number(key.slice(key.lastIndexOf("#") + 1));
}
