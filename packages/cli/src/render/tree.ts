/**
 * Draws `describeRun`'s model of a run as a tree with box-drawing characters:
 * one line per step with its state and what matters about it (output and
 * attempts once committed, the wake time or signal while parked, the error
 * where it failed). The model decides every state; this only draws it.
 */
import type { BranchView, StepNodeView, StepState, StepView } from "@parkway/core";
import { describeWait, duration, lastFailure, shortError, shortValue } from "./format.js";

/** One line of the tree before alignment. */
interface Line {
  readonly prefix: string;
  readonly label: string;
  readonly state: string;
  readonly detail: string;
}

const MARK: Readonly<Record<StepState, string>> = {
  committed: "✓",
  running: "●",
  parked: "◷",
  failed: "✗",
  "not-reached": "○",
};

const KIND: Readonly<Record<StepNodeView["kind"], string>> = {
  task: "task",
  fork: "fork",
  route: "route",
  map: "map",
  race: "race",
  loop: "loop",
  delay: "delay",
  awaitSignal: "signal",
  child: "child",
};

/** Widest label column before details stop being aligned. */
const MAX_LABEL_WIDTH = 56;

/** The tree of `nodes` under a root line `title`, as lines of text; `now` is for relative times. */
export function renderTree(title: string, nodes: readonly StepNodeView[], now: number): string[] {
  const lines: Line[] = [];
  spine(nodes, "", now, lines);
  const width = Math.min(MAX_LABEL_WIDTH, Math.max(0, ...lines.map((l) => l.prefix.length + l.label.length)));
  const stateWidth = Math.max(0, ...lines.map((l) => l.state.length));
  return [
    title,
    ...lines.map((l) => {
      const left = `${l.prefix}${l.label}`;
      if (l.state === "") return l.detail === "" ? left : `${left}  ${l.detail}`;
      const cells = [left.padEnd(width), l.state.padEnd(stateWidth), l.detail];
      return cells.join("  ").trimEnd();
    }),
  ];
}

function spine(nodes: readonly StepNodeView[], indent: string, now: number, out: Line[]): void {
  nodes.forEach((node, i) => {
    const last = i === nodes.length - 1;
    out.push({
      prefix: `${indent}${last ? "└─ " : "├─ "}`,
      label: `${MARK[node.state]} ${KIND[node.kind]} ${node.key}`,
      state: stateWord(node.state),
      detail: detailOf(node, now),
    });
    const childIndent = `${indent}${last ? "   " : "│  "}`;
    const count = node.branches.length + node.iterations.length;
    node.branches.forEach((b, j) => branch(b, node, childIndent, j === count - 1, now, out));
    node.iterations.forEach((it, j) => iteration(it, childIndent, node.branches.length + j === count - 1, out));
  });
}

function branch(b: BranchView, parent: StepNodeView, indent: string, last: boolean, now: number, out: Line[]): void {
  const [yes, no] = parent.kind === "race" ? [" (won)", " (lost)"] : [" (taken)", " (not taken)"];
  const taken = (parent.kind !== "route" && parent.kind !== "race") || b.chosen === null ? "" : b.chosen ? yes : no;
  const what = parent.kind === "map" ? "element" : parent.kind === "loop" ? "iteration" : "branch";
  out.push({ prefix: `${indent}${last ? "└─ " : "├─ "}`, label: `${what} ${b.label}${taken}`, state: "", detail: "" });
  spine(b.steps, `${indent}${last ? "   " : "│  "}`, now, out);
}

function iteration(step: StepView, indent: string, last: boolean, out: Line[]): void {
  out.push({
    prefix: `${indent}${last ? "└─ " : "├─ "}`,
    label: `${MARK.committed} ${step.key}`,
    state: stateWord("committed"),
    detail: [answer(step.output), attempts(step.attempts), step.durationMs === null ? "" : `took ${duration(step.durationMs)}`]
      .filter(Boolean)
      .join(" · "),
  });
}

function stateWord(state: StepState): string {
  return state === "not-reached" ? "not reached" : state;
}

/** What is worth knowing about a step in its state: its own facts, then how long it took and why it last failed. */
function detailOf(node: StepNodeView, now: number): string {
  return [stateDetail(node, now), timingDetail(node)].filter(Boolean).join(" · ");
}

function stateDetail(node: StepNodeView, now: number): string {
  switch (node.state) {
    case "committed":
      return committedDetail(node);
    case "parked":
      return node.wait === null
        ? shape(node)
        : [node.detail.kind === "delay" || node.detail.kind === "child" ? shape(node) : "", describeWait(node.wait, now)]
            .filter(Boolean)
            .join(", ");
    case "failed":
      return node.error === null ? shape(node) : shortError(node.error);
    default:
      return shape(node);
  }
}

/**
 * How long a committed step took, and the error of its last failed attempt while it is not
 * committed (running again or waiting to retry), or when it committed after retries.
 */
function timingDetail(node: StepNodeView): string {
  const took = node.state === "committed" && node.durationMs !== null ? `took ${duration(node.durationMs)}` : "";
  // A failed step shows its error already.
  const failure = node.lastError === null || node.state === "failed" ? "" : lastFailure(node.attemptLog, node.lastError);
  return [took, failure].filter(Boolean).join(" · ");
}

function committedDetail(node: StepNodeView): string {
  switch (node.detail.kind) {
    case "delay":
      return shape(node);
    case "awaitSignal":
      return `signal "${node.detail.signal}" received: ${shortValue(node.output)}`;
    case "route":
      return `chose ${shortValue(node.output)}`;
    case "loop": {
      const count = iterationsRun(node);
      return `${answer(node.output)} after ${count} iteration${count === 1 ? "" : "s"}`;
    }
    case "map":
      return `${node.branches.length} item${node.branches.length === 1 ? "" : "s"}`;
    case "child":
      return `run ${node.detail.instanceId ?? "?"} completed: ${shortValue(node.output)}`;
    case "race": {
      const won = node.output as { winner?: unknown; output?: unknown } | undefined;
      return `won by ${String(won?.winner)}: ${shortValue(won?.output)}`;
    }
    default:
      return `output ${shortValue(node.output)}${node.attempts === null ? "" : ` · ${attempts(node.attempts)}`}`;
  }
}

/** The step's declared shape: what it will do once reached. */
function shape(node: StepNodeView): string {
  const d = node.detail;
  switch (d.kind) {
    case "delay":
      return d.ms === null ? "delay computed from its input" : `delay ${duration(d.ms)}`;
    case "awaitSignal": {
      const buffered = d.buffered === 0 ? "" : `, ${d.buffered} buffered`;
      return `signal "${d.signal}", ${d.timeoutMs === null ? "no timeout" : `timeout ${duration(d.timeoutMs)}`}${buffered}`;
    }
    case "loop":
      return `at most ${d.maxIterations} iterations`;
    case "route":
      return `keys ${d.keys.join(", ")}`;
    case "fork":
      return `joins ${node.branches.map((b) => b.label).join(", ")}`;
    case "race":
      return `first of ${node.branches.map((b) => b.label).join(", ")}`;
    case "map":
      return `at most ${d.concurrency} at once, ${d.maxItems} items`;
    case "child":
      return d.instanceId === null ? `starts a run of ${d.workflow}` : `run ${d.instanceId} of ${d.workflow}`;
    default:
      return "";
  }
}

/** A loop body's answer: `again x` or `done x`. */
function answer(output: unknown): string {
  const step = output as { loop?: unknown; value?: unknown } | null;
  if (step !== null && typeof step === "object" && (step.loop === "again" || step.loop === "done")) {
    return `${step.loop} ${shortValue(step.value)}`;
  }
  return `output ${shortValue(output)}`;
}

function attempts(count: number): string {
  return `${count} attempt${count === 1 ? "" : "s"}`;
}

/** How many iterations a loop ran: the number of its last one (a loop keeps only its last iterations). */
function iterationsRun(node: StepNodeView): number {
  const last = node.iterations.at(-1)?.key ?? node.branches.at(-1)?.label;
  const n = last === undefined ? 0 : Number(last.slice(last.lastIndexOf("#") + 1));
  return Number.isInteger(n) ? n : node.iterations.length + node.branches.length;
}
