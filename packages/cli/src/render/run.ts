/**
 * A run for people: a header (status, waits, input, output, error) and then
 * its continuation tree, or, when the run's definition is not loaded, the
 * flat list of its committed steps with a line saying why the tree is missing.
 */
import type { RunSummary, RunView, StepNodeView } from "@parkway/core";
import { describeWait, duration, lastFailure, shortError, shortValue, timeAt, timestamp, truncate } from "./format.js";
import { renderTable } from "./table.js";
import { renderTree } from "./tree.js";

/** How `status` could draw the run: its tree, or why not. */
export type TreeOrReason = { readonly tree: readonly StepNodeView[] } | { readonly missing: string };

/** The whole `status` page. `now` (epoch ms) is for relative times. */
export function renderRun(view: RunView, drawn: TreeOrReason, now: number): string {
  const rows: [string, string][] = [
    ["Run", view.id],
    ["Workflow", `${view.workflow}  (definition ${view.hash.slice(0, 12)})`],
    ["Status", `${view.status}  (version ${view.version})`],
  ];
  for (const warning of view.warnings) rows.push(["Warning", warning.message]);
  if (view.requested !== null) rows.push(["Requested", `${view.requested}, applied at the run's next step boundary`]);
  for (const wait of view.waitingFor) {
    // A step waiting to retry says why it failed.
    const timing = wait.kind === "timer" && wait.reason === "retry" ? view.timings[wait.key] : undefined;
    const why = timing?.lastError ? ` after ${lastFailure(timing.attemptLog, timing.lastError)}` : "";
    rows.push(["Waiting", `${wait.key}: ${describeWait(wait, now)}${why}`]);
  }
  if (view.error !== null) rows.push([view.status === "failed" ? "Error" : "Blocked", errorLine(view)]);
  for (const failed of view.error?.compensations ?? []) rows.push(["Not undone", `${failed.step ?? "?"}: ${shortError(failed)}`]);
  const undone = view.steps.filter((s) => s.key.endsWith("#compensate") && (s.output as { compensated?: unknown })?.compensated === true);
  if (undone.length > 0) rows.push(["Undone", undone.map((s) => s.key.slice(0, -"#compensate".length)).join(", ")]);
  // Progress of the steps still going: a committed step's last heartbeat is history.
  const committed = new Set(view.steps.map((s) => s.key));
  for (const [key, progress] of Object.entries(view.progress)) {
    if (!committed.has(key)) rows.push(["Progress", `${key}: ${shortValue(progress.details, 80)}  (at ${timestamp(progress.at)})`]);
  }
  rows.push(...bufferedRows(view, now));
  rows.push(["Input", shortValue(view.input, 100)]);
  if (view.status === "completed") rows.push(["Output", shortValue(view.output, 100)]);
  rows.push(["Created", timestamp(view.createdAt)], ["Updated", timestamp(view.updatedAt)]);
  if (view.finishedAt !== null) rows.push(["Finished", timestamp(view.finishedAt)]);
  const header = rows.map(([name, value]) => `${name.padEnd(10)} ${value}`);
  return [...header, "", ...("tree" in drawn ? renderTree(view.workflow, drawn.tree, now) : flatSteps(view, drawn.missing))].join("\n");
}

/** The signals sent and not taken yet: how many under each name, then the oldest one a row, then how many more. */
function bufferedRows(view: RunView, now: number): [string, string][] {
  const { signals, total, byName } = view.buffered;
  if (total === 0) return [];
  const names = Object.entries(byName).map(([name, count]) => `"${name}" ×${count}`);
  const rows: [string, string][] = [["Buffered", `${total} signal${total === 1 ? "" : "s"} not taken yet: ${names.join(", ")}`]];
  for (const signal of signals) {
    const sent = signal.sentAt === null ? "sent before the history's oldest event" : `sent ${timeAt(signal.sentAt, now)}`;
    const payload = "payload" in signal ? shortValue(signal.payload, 60) : "payload not shown";
    rows.push(["Signal", `"${signal.name}"  ${sent} · ${signal.bytes} B · ${payload}`]);
  }
  if (total > signals.length) rows.push(["", `and ${total - signals.length} more`]);
  return rows;
}

function errorLine(view: RunView): string {
  const error = view.error!;
  return error.step === undefined ? shortError(error) : `${shortError(error)}  (step ${error.step})`;
}

/** The committed steps in commit order, when the tree cannot be drawn. */
function flatSteps(view: RunView, missing: string): string[] {
  const lines = [`Committed steps only: ${missing}.`];
  if (view.steps.length === 0) return [...lines, "  (none yet)"];
  const width = Math.max(...view.steps.map((s) => s.key.length));
  return [
    ...lines,
    ...view.steps.map((s) => {
      const took = s.durationMs === null ? "" : ` · took ${duration(s.durationMs)}`;
      const failed = s.lastError === null ? "" : ` · ${lastFailure(s.attemptLog, s.lastError)}`;
      return `  ✓ ${s.key.padEnd(width)}  committed  output ${shortValue(s.output)} · ${s.attempts} attempt${s.attempts === 1 ? "" : "s"}${took}${failed}`;
    }),
  ];
}

/** `list` as a table, with the command for the next page when there is one. */
export function renderList(runs: readonly RunSummary[], cursor: string | null, nextPage: (cursor: string) => string): string {
  if (runs.length === 0) return "No runs.";
  const table = renderTable(
    ["ID", "WORKFLOW", "STATUS", "CREATED", "UPDATED", "FINISHED", "DUE", "ERROR"],
    runs.map((r) => [
      r.id,
      r.workflow,
      r.status,
      timestamp(r.createdAt),
      timestamp(r.updatedAt),
      timestamp(r.finishedAt),
      timestamp(r.dueAt),
      r.error === null ? "" : truncate(shortError(r.error), 60),
    ]),
  );
  const footer = cursor === null ? [] : ["", `More runs: ${nextPage(cursor)}`];
  return [...table, ...footer].join("\n");
}
