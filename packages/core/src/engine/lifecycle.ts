/**
 * The client-side half of the run lifecycle: retention settings, and which
 * commit keys a rewind drops or a migration allows, read from a definition's
 * tree. The stores apply the result atomically (one Lua script on Redis).
 */
import { isBuiltWorkflow, type Workflow } from "../builder/workflow.js";
import { ValidationError } from "../errors.js";
import { checkOptions, optionNames } from "../options.js";
import type { FinishedStatus, RetentionMs, StepKeySet, Store } from "../store/types.js";
import { assertWellFormed } from "../well-formed.js";
import { nodesOf, type Continuation } from "../tree/nodes.js";

/** What `purge` removes: finished runs matching every filter given (at least one). */
export interface PurgeQuery {
  /** One finished status; all three when absent. */
  readonly status?: FinishedStatus;
  readonly workflow?: string;
  /** Only runs that finished before this time. */
  readonly finishedBefore?: Date | number;
}

/** Options of `rewind`. */
export interface RewindOptions {
  /** The committed step to run again (its commit key, as `status().steps` shows it). */
  readonly to: string;
}

/** Options of `migrate`. */
export interface MigrateOptions {
  /** The definition to move the run to: a build of the same workflow. */
  readonly to: Workflow<never, unknown>;
  /** Renames of committed keys, `{ oldKey: newKey }`, for steps the new definition calls otherwise. */
  readonly keys?: Readonly<Record<string, string>>;
}

const PURGE_OPTIONS = optionNames<PurgeQuery>({ status: true, workflow: true, finishedBefore: true });
const MIGRATE_OPTIONS = optionNames<MigrateOptions>({ to: true, keys: true });
const FINISHED: readonly FinishedStatus[] = ["completed", "failed", "cancelled"];
/** Runs one purge batch looks at: bounds the time one Redis script runs. */
const PURGE_BATCH = 500;

/**
 * Deletes every finished run matching `query`, one bounded batch at a time, and returns the count.
 * @throws ValidationError for an unknown option, a live status, or no filter at all
 */
export async function purgeRuns(store: Store, query: PurgeQuery): Promise<number> {
  checkOptions("purge", query, PURGE_OPTIONS);
  const { status, workflow, finishedBefore } = query;
  if (status === undefined && workflow === undefined && finishedBefore === undefined) {
    throw new ValidationError("purge needs at least one filter (status, workflow or finishedBefore): it never deletes everything");
  }
  if (status !== undefined && !FINISHED.includes(status)) {
    throw new ValidationError(`purge: status must be one of ${FINISHED.join(", ")} (live runs are never purged), got ${String(status)}`, {
      option: "status",
    });
  }
  if (workflow !== undefined) assertName(workflow, "purge: workflow");
  const before = finishedBefore instanceof Date ? finishedBefore.getTime() : finishedBefore;
  if (before !== undefined && (typeof before !== "number" || !Number.isFinite(before))) {
    throw new ValidationError("purge: finishedBefore must be a Date or epoch milliseconds", { option: "finishedBefore" });
  }
  let deleted = 0;
  for (const s of status === undefined ? FINISHED : [status]) {
    for (let offset: number | null = 0; offset !== null;) {
      const batch = await store.purge({
        status: s,
        offset,
        limit: PURGE_BATCH,
        ...(workflow === undefined ? {} : { workflow }),
        ...(before === undefined ? {} : { finishedBefore: before }),
      });
      deleted += batch.deleted;
      offset = batch.next;
    }
  }
  return deleted;
}

/** `migrate`'s options, checked. @throws ValidationError naming the option */
export function checkMigrateOptions(options: MigrateOptions): { to: Workflow; keys: Readonly<Record<string, string>> } {
  checkOptions("migrate", options, MIGRATE_OPTIONS);
  const { to, keys = {} } = options;
  if (!isBuiltWorkflow(to)) throw new ValidationError("migrate: `to` must be a workflow built by flow(...).build()", { option: "to" });
  if (typeof keys !== "object" || keys === null || Array.isArray(keys)) {
    throw new ValidationError("migrate: `keys` must be an object of old commit key to new commit key", { option: "keys" });
  }
  for (const [from, into] of Object.entries(keys)) {
    assertName(from, "migrate: a key of `keys`");
    assertName(into, `migrate: keys["${from}"]`);
  }
  return { to, keys };
}

function assertName(value: unknown, what: string): asserts value is string {
  if (typeof value !== "string" || value.length === 0 || value.length > 512) {
    throw new ValidationError(`${what} must be a non-empty string of at most 512 characters`, { option: what });
  }
  assertWellFormed(value, what);
}

/** Writes the namespace's retention (when given) and each workflow's own into the store. */
export async function configureRetention(
  store: Store,
  namespace: RetentionMs | undefined,
  workflows: readonly Workflow<never, unknown>[],
): Promise<void> {
  if (namespace !== undefined) await store.setRetention(null, namespace);
  const seen = new Set<string>();
  for (const workflow of workflows) {
    if (seen.has(workflow.name)) continue;
    seen.add(workflow.name);
    await store.setRetention(workflow.name, workflow.retention ?? {});
  }
}

/** Where a part of the tree commits: nodes whose refs start with `refPrefix` commit under `keyPrefix` (as in the walk). */
interface Place {
  readonly refPrefix: string;
  readonly keyPrefix: string;
}
const TOP: Place = { refPrefix: "", keyPrefix: "" };

/** A node, and where its keys are made concrete. */
interface Placed {
  readonly node: Continuation;
  readonly place: Place;
}

/** Every commit key a definition can write, as templates (any map element, any loop iteration). */
export function definitionKeys(workflow: Workflow<never, unknown>): StepKeySet {
  return keySet(placed(nodesOf(workflow.root), TOP));
}

/**
 * What a rewind to the step committed under `key` drops: that step and everything whose input
 * depends on it, or undefined when the definition has no step committing under `key`.
 * - the rest of its chain, with every branch nested there;
 * - from inside a fork branch, the join and everything after the fork; from inside a race
 *   branch, the race's outcome and everything after it; from inside a route branch, what
 *   follows the route; all of it outward to the root. Sibling branches keep their outputs;
 * - from inside element i of a map, the rest of that element's chain (the other elements
 *   keep theirs) and what follows the map;
 * - from inside a loop (a call of its body function, or a step of a sub-flow body), the
 *   whole loop: it runs again from its first iteration. A loop keeps only its last
 *   iterations, so the input of the one holding `key` may be gone.
 * A fork's own key is its join, so rewinding to a fork re-runs the join, not the branches;
 * a map's own key is its items, so every element runs again; a race's is its outcome, so
 * the race runs again.
 */
export function rewindKeys(workflow: Workflow<never, unknown>, key: string): StepKeySet | undefined {
  const found = dependents(workflow.root, key, TOP);
  return found === null ? undefined : keySet(found);
}

function dependents(chain: Continuation | null, key: string, place: Place): Placed[] | null {
  for (let node: Continuation | null = chain; node; node = node.next) {
    const nodeKey = keyOf(node, place);
    const after = (): Placed[] => placed(nodesOf(node.next), place);
    if (node.kind === "loop") {
      const inBody = node.body ? iterationPlace(node, nodeKey, key) : null;
      const own = !node.body && numberAfter(key, `${nodeKey}#`, /^(\d+)$/) !== undefined;
      if (own || (inBody && node.body && dependents(node.body, key, inBody))) return placed(nodesOf(node), place);
      continue;
    }
    if (nodeKey === key) return node.kind === "fork" ? [{ node, place }, ...after()] : placed(nodesOf(node), place);
    let inner: Placed[] | null = null;
    if (node.kind === "fork" || node.kind === "race") {
      for (const b of node.branches) inner ??= dependents(b.root, key, place);
    } else if (node.kind === "route") {
      for (const root of [...node.branches.map((b) => b.root), node.defaultBranch]) inner ??= dependents(root, key, place);
    } else if (node.kind === "map") {
      const index = numberAfter(key, `${nodeKey}[`, /^(\d+)\]\//);
      if (index !== undefined) inner = dependents(node.body, key, { refPrefix: `${node.ref}[]/`, keyPrefix: `${nodeKey}[${index}]/` });
    }
    // A join reads every branch and a race passes its winner's output on: they go too; what follows depends on all.
    if (inner) return [...inner, ...(node.kind === "fork" || node.kind === "race" ? [{ node, place }] : []), ...after()];
  }
  return null;
}

/** Where iteration n of a sub-flow loop body commits, when `key` is under one. */
function iterationPlace(node: Continuation, nodeKey: string, key: string): Place | null {
  const n = numberAfter(key, `${nodeKey}#`, /^(\d+)\//);
  return n === undefined ? null : { refPrefix: `${node.ref}#/`, keyPrefix: `${nodeKey}#${n}/` };
}

function keyOf(node: Continuation, place: Place): string {
  return place.keyPrefix + node.ref.slice(place.refPrefix.length);
}

/** The element or iteration number in `key` right after `prefix`, when what follows matches `pattern`. */
function numberAfter(key: string, prefix: string, pattern: RegExp): string | undefined {
  return key.startsWith(prefix) ? pattern.exec(key.slice(prefix.length))?.[1] : undefined;
}

function placed(nodes: Iterable<Continuation>, place: Place): Placed[] {
  return [...nodes].map((node) => ({ node, place }));
}

/** Key templates of placed nodes. A loop with a sub-flow body commits nothing under its own key. */
function keySet(nodes: Iterable<Placed>): StepKeySet {
  const refs: string[] = [];
  const loops: string[] = [];
  for (const { node, place } of nodes) {
    if (node.kind !== "loop") refs.push(keyOf(node, place));
    else if (!node.body) loops.push(keyOf(node, place));
  }
  return { refs, loops };
}
