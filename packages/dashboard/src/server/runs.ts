/**
 * Reads runs for the dashboard: a page of the list with counts per status,
 * and one run as its continuation tree (drawn by core's `describeRun`, the one
 * model of a run's tree; this file only picks the definition and makes values
 * JSON-safe).
 */
import {
  compensationKey,
  describeRun,
  FAILURE_KEY,
  signalNamesOf,
  WorkflowRegistry,
  type CompensationOutcome,
  type DurableClient,
  type RunView,
  type Workflow,
} from "@parkway/core";
import type {
  BufferedSignalShown,
  CompensationShown,
  DefinitionState,
  ProgressShown,
  RunDetail,
  RunsPage,
  RunsQuery,
  StepNodeView,
  StepView,
  WorkflowInfo,
} from "../shared/api.js";
import { toJsonValue } from "./json.js";
import { DEFAULT_PAGE_SIZE } from "./queries.js";

/** How long counts per status are reused: every live list of the same workflow filter shares one read. */
export const COUNTS_MAX_AGE_MS = 1000;
/** Workflow filters whose counts are remembered at once (the names come from URLs, so the memory must be bounded). */
const COUNTS_KEPT = 64;
/** What core appends to a step's commit key to commit its compensation under (`compensationKey`). */
const COMPENSATION_SUFFIX = compensationKey("");

/** Reads runs through a client, drawing trees with the workflow definitions it was given. */
export class RunReader {
  private readonly registry: WorkflowRegistry;
  private readonly infos: readonly WorkflowInfo[];
  private readonly counted = new Map<string, { readonly at: number; readonly counts: Promise<RunsPage["counts"]> }>();

  constructor(
    private readonly client: DurableClient,
    workflows: readonly Workflow<never, unknown>[],
    private readonly countsMaxAgeMs = COUNTS_MAX_AGE_MS,
  ) {
    this.registry = new WorkflowRegistry(workflows);
    const latest = new Map(workflows.map((w) => [w.name, w as Workflow]));
    this.infos = [...latest.values()].map((w) => ({ name: w.name, signals: signalNamesOf(w.root) }));
  }

  /** The loaded workflows (the latest definition of each name) and the signals each waits for. */
  workflows(): readonly WorkflowInfo[] {
    return this.infos;
  }

  /** The definition run `(name, hash)` was started with, when it is loaded. */
  definition(name: string, hash: string): Workflow | undefined {
    return this.registry.find(name, hash);
  }

  /** One run with its tree (the flat list of committed steps when its definition is not loaded) and its history. */
  async detail(id: string): Promise<RunDetail> {
    const [view, history] = await Promise.all([this.client.status(id), this.client.history(id)]);
    const definition = this.registry.find(view.workflow, view.hash);
    const state: DefinitionState = definition ? "loaded" : this.registry.hasName(view.workflow) ? "changed" : "missing";
    // toJsonValue keeps every field of the tree; it only replaces values JSON cannot carry.
    const tree = definition ? (toJsonValue(describeRun(definition, view)) as unknown as readonly StepNodeView[]) : null;
    return {
      id: view.id,
      workflow: view.workflow,
      hash: view.hash,
      status: view.status,
      version: view.version,
      requested: view.requested,
      error: view.error,
      waitingFor: view.waitingFor,
      input: toJsonValue(view.input),
      output: toJsonValue(view.output),
      dueAt: view.dueAt,
      createdAt: view.createdAt,
      updatedAt: view.updatedAt,
      finishedAt: view.finishedAt,
      definition: state,
      tree,
      steps: view.steps.map((s): StepView => ({ key: s.key, attempts: s.attempts, output: toJsonValue(s.output) })),
      signals: definition ? signalNamesOf(definition.root) : [],
      warnings: view.warnings,
      parent: view.parent,
      children: view.children,
      progress: Object.fromEntries(
        Object.entries(view.progress).map(([key, p]): [string, ProgressShown] => [key, { details: toJsonValue(p.details), at: p.at }]),
      ),
      compensations: compensationsOf(view),
      buffered: {
        // A payload too large to show has no `payload` at all; one sent without a value shows as null.
        signals: view.buffered.signals.map((signal): BufferedSignalShown => {
          const { payload, ...shown } = signal;
          return "payload" in signal ? { ...shown, payload: toJsonValue(payload) } : shown;
        }),
        total: view.buffered.total,
        byName: view.buffered.byName,
      },
      history,
      // A rewind needs the definition; Parkway's own keys (a failure, a compensation) are not steps to go back to.
      rewindTargets: definition
        ? view.steps.map((s) => s.key).filter((key) => key !== FAILURE_KEY && !key.endsWith(COMPENSATION_SUFFIX))
        : [],
    };
  }

  /** A page of runs in the query's order (newest first by default), with counts per status under the same workflow filter. */
  async page(query: RunsQuery): Promise<RunsPage> {
    const [page, counts] = await Promise.all([
      // The query's fields are `list`'s options, checked by parseRunsQuery and again by the client.
      this.client.list({ ...query, limit: query.limit ?? DEFAULT_PAGE_SIZE }),
      this.counts(query.workflow),
    ]);
    return { runs: page.runs.map((r) => ({ ...r })), cursor: page.cursor, counts };
  }

  /**
   * Runs per status, from the store's indexes (one small read, not a page per
   * status), shared for `countsMaxAgeMs` by every list with the same workflow
   * filter: a status tab or a later page does not read them again.
   */
  private counts(workflow: string | undefined): Promise<RunsPage["counts"]> {
    const key = workflow ?? "";
    const now = Date.now();
    const kept = this.counted.get(key);
    if (kept && now - kept.at < this.countsMaxAgeMs) return kept.counts;
    if (this.counted.size >= COUNTS_KEPT) {
      for (const [k, v] of this.counted) if (now - v.at >= this.countsMaxAgeMs) this.counted.delete(k);
      if (this.counted.size >= COUNTS_KEPT) this.counted.clear();
    }
    const counts = this.client.counts(workflow ? { workflow } : {});
    const entry = { at: now, counts };
    this.counted.set(key, entry);
    // A failed read is not kept: the next poll asks again.
    counts.catch(() => this.counted.get(key) === entry && this.counted.delete(key));
    return counts;
  }
}

/** The compensations a failed run ran: each commits `{ compensated }` (and the error it gave up with) under its step's compensation key. */
function compensationsOf(view: RunView): CompensationShown[] {
  return view.steps.flatMap((s) => {
    if (!s.key.endsWith(COMPENSATION_SUFFIX)) return [];
    const outcome = s.output as Partial<CompensationOutcome> | null;
    const error = outcome?.compensated === false ? (outcome.error ?? null) : null;
    return [{ key: s.key.slice(0, -COMPENSATION_SUFFIX.length), compensated: outcome?.compensated === true, error }];
  });
}
