/**
 * Draws a run's continuation tree (core's `describeRun` model): each node with
 * its step's state, output, error, attempts and latest heartbeat; forks with
 * their branches side by side, routes with the branch they took, loops with
 * their iterations, delays with their wake time, signal waits with the signal
 * and timeout, and child steps with a link to their child run.
 */
import type { BranchView, JsonValue, ProgressShown, StepNodeView, StepView } from "../shared/api.js";
import { ErrorBox, Link, StateBadge } from "./components.js";
import { describeWait, formatDuration, relative } from "./format.js";
import { JsonView } from "./json-view.js";
import { runHref } from "./router.js";

/** What every node of one run's tree is drawn with. */
export interface TreeContext {
  readonly now: number;
  /** The latest heartbeat of each step that sent one, by commit key. */
  readonly progress: { readonly [key: string]: ProgressShown };
}

const KIND_LABEL: Record<StepNodeView["kind"], string> = {
  task: "task",
  fork: "fork · join",
  route: "route",
  map: "map",
  race: "race",
  loop: "loop",
  delay: "delay",
  awaitSignal: "signal wait",
  child: "child run",
};

/** What a committed node's output is called; a delay, route and loop show theirs elsewhere (or have none worth showing). */
const OUTPUT_LABEL: Partial<Record<StepNodeView["kind"], string>> = {
  task: "output",
  fork: "join output",
  awaitSignal: "payload",
  child: "child output",
};

/** A chain of steps, in order. */
export function Tree({ nodes, ctx }: { nodes: readonly StepNodeView[]; ctx: TreeContext }) {
  return (
    <ol class="tree">
      {nodes.map((node) => (
        <StepNode key={node.key} node={node} ctx={ctx} />
      ))}
    </ol>
  );
}

function StepNode({ node, ctx }: { node: StepNodeView; ctx: TreeContext }) {
  const { now } = ctx;
  return (
    <li class={`step state-${node.state}`} data-testid={`step-${node.key}`} data-key={node.key} data-state={node.state}>
      <div class="step-head">
        <span class={`kind kind-${node.kind}`}>{KIND_LABEL[node.kind]}</span>
        <span class="step-id">{node.id}</span>
        {node.key !== node.id ? <span class="muted step-key">{node.key}</span> : null}
        <StateBadge state={node.state} />
        {node.attempts !== null ? (
          <span class="muted">
            {node.attempts} attempt{node.attempts === 1 ? "" : "s"}
          </span>
        ) : null}
      </div>
      <StepFacts node={node} now={now} />
      {node.detail.kind === "child" && node.detail.instanceId !== null ? (
        <div class="facts">
          child run <Link href={runHref(node.detail.instanceId)}>{node.detail.instanceId}</Link>
        </div>
      ) : null}
      <Progress progress={ctx.progress[node.key]} now={now} />
      {node.kind === "fork" || ((node.kind === "map" || node.kind === "loop") && node.branches.length > 0) ? (
        <ForkBranches branches={node.branches} ctx={ctx} />
      ) : null}
      {node.kind === "route" || node.kind === "race" ? <RouteBranches branches={node.branches} ctx={ctx} /> : null}
      {node.kind === "loop" ? <Iterations iterations={node.iterations} /> : null}
      {node.state === "committed" && OUTPUT_LABEL[node.kind] ? (
        <JsonView label={OUTPUT_LABEL[node.kind]!} value={node.output as JsonValue} />
      ) : null}
      {node.error ? <ErrorBox error={node.error} /> : null}
    </li>
  );
}

/** What a node is set up to do, and what it waits for while parked. */
function StepFacts({ node, now }: { node: StepNodeView; now: number }) {
  const { detail, wait } = node;
  const facts: string[] = [];
  switch (detail.kind) {
    case "delay":
      facts.push(detail.ms === null ? "waits as long as its input says" : `waits ${formatDuration(detail.ms)}`);
      break;
    case "awaitSignal":
      facts.push(
        `waits for signal "${detail.signal}"`,
        detail.timeoutMs === null ? "no timeout" : `timeout ${formatDuration(detail.timeoutMs)}`,
      );
      if (detail.buffered > 0) facts.push(`${detail.buffered} buffered`);
      break;
    case "route":
      facts.push(`keys: ${detail.keys.join(", ")}`);
      if (node.state === "committed") facts.push(`chose "${String(node.output)}"`);
      break;
    case "loop":
      facts.push(`at most ${detail.maxIterations} iterations`);
      break;
    case "map":
      facts.push(`at most ${detail.concurrency} at once`, `${node.branches.length} items`);
      break;
    case "race":
      if (node.state === "committed") facts.push(`won by "${String((node.output as { winner?: unknown } | undefined)?.winner)}"`);
      break;
  }
  if (wait) facts.push(describeWait(wait, now));
  if (facts.length === 0) return null;
  return <div class="facts">{facts.join(" · ")}</div>;
}

/** A step's latest heartbeat (`ctx.heartbeat(details)`): how far a long step has come, or where it stood when it ended. */
function Progress({ progress, now }: { progress: ProgressShown | undefined; now: number }) {
  if (!progress) return null;
  return (
    <div class="progress" data-testid="progress">
      <JsonView label={`heartbeat ${relative(progress.at, now)}`} value={progress.details} />
    </div>
  );
}

function ForkBranches({ branches, ctx }: { branches: readonly BranchView[]; ctx: TreeContext }) {
  return (
    <div class="branches">
      {branches.map((b) => (
        <div class="branch" key={b.label} data-testid={`branch-${b.label}`}>
          <div class="branch-label">branch {b.label}</div>
          <Tree nodes={b.steps} ctx={ctx} />
        </div>
      ))}
    </div>
  );
}

function RouteBranches({ branches, ctx }: { branches: readonly BranchView[]; ctx: TreeContext }) {
  return (
    <div class="branches">
      {branches.map((b) => (
        <div
          class={`branch ${b.chosen === false ? "not-chosen" : ""} ${b.chosen ? "chosen" : ""}`}
          key={b.label}
          data-testid={`branch-${b.label}`}
        >
          <div class="branch-label">
            {b.label} {b.chosen === true ? <span class="badge chosen-badge">taken</span> : null}
            {b.chosen === false ? <span class="muted">not taken</span> : null}
          </div>
          <Tree nodes={b.steps} ctx={ctx} />
        </div>
      ))}
    </div>
  );
}

function Iterations({ iterations }: { iterations: readonly StepView[] }) {
  if (iterations.length === 0) return <div class="facts muted">no iteration yet</div>;
  return (
    <ol class="iterations">
      {iterations.map((it) => {
        const answer = it.output as { loop?: string; value?: unknown } | null;
        return (
          <li key={it.key} data-testid={`iteration-${it.key}`}>
            <span class="step-id">{it.key.slice(it.key.lastIndexOf("#"))}</span>{" "}
            <span class="muted">
              {answer?.loop === "done" ? "done" : "again"} · {it.attempts} attempt{it.attempts === 1 ? "" : "s"}
            </span>
            <JsonView label="value" value={answer?.value as JsonValue | undefined} />
          </li>
        );
      })}
    </ol>
  );
}

/** Without the run's definition: its committed steps, flat, as the store lists them. */
export function FlatSteps({ steps, ctx }: { steps: readonly StepView[]; ctx: TreeContext }) {
  if (steps.length === 0) return <p class="muted">No step has committed yet.</p>;
  return (
    <ol class="tree">
      {steps.map((s) => (
        <li class="step state-committed" key={s.key} data-testid={`step-${s.key}`} data-key={s.key} data-state="committed">
          <div class="step-head">
            <span class="step-id">{s.key}</span>
            <StateBadge state="committed" />
            <span class="muted">
              {s.attempts} attempt{s.attempts === 1 ? "" : "s"}
            </span>
          </div>
          <Progress progress={ctx.progress[s.key]} now={ctx.now} />
          <JsonView label="output" value={s.output as JsonValue} />
        </li>
      ))}
    </ol>
  );
}
