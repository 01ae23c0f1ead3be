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

/** Every commit key a definition can write. */
export function definitionKeys(workflow: Workflow): StepKeySet {
  return keySet(nodesOf(workflow.root));
}

/** The node a commit key belongs to: its ref, or a loop iteration `<ref>#<n>`. */
export function nodeOfKey(workflow: Workflow, key: string): Continuation | undefined {
  const loop = /^(.+)#\d+$/.exec(key)?.[1];
  for (const node of nodesOf(workflow.root)) {
    if (node.ref === key && node.kind !== "loop") return node;
    if (loop !== undefined && node.ref === loop && node.kind === "loop") return node;
  }
  return undefined;
}

/**
 * What a rewind to `node` drops: the node and everything whose input depends
 * on it: the rest of its chain (with every branch nested there), and, from
 * inside a fork branch, the join and everything after the fork, outward to
 * the root. Sibling branches keep their outputs. A fork's own key is its join,
 * so rewinding to a fork re-runs the join, not the branches.
 */
export function rewindKeys(workflow: Workflow, node: Continuation): StepKeySet {
  return keySet(dependents(workflow.root, node) ?? []);
}

function dependents(chain: Continuation | null, target: Continuation): Continuation[] | null {
  for (let node = chain; node; node = node.next) {
    if (node === target) return node.kind === "fork" ? [node, ...nodesOf(node.next)] : [...nodesOf(node)];
    const inner =
      node.kind === "fork"
        ? node.branches.map((b) => b.root)
        : node.kind === "route"
          ? [...node.branches.map((b) => b.root), node.defaultBranch]
          : [];
    for (const root of inner) {
      const found = dependents(root, target);
      // A fork's join reads every branch; a route's output is its branch's, so what follows depends on both.
      if (found) return [...found, ...(node.kind === "fork" ? [node] : []), ...nodesOf(node.next)];
    }
  }
  return null;
}

function keySet(nodes: Iterable<Continuation>): StepKeySet {
  const refs: string[] = [];
  const loops: string[] = [];
  for (const node of nodes) (node.kind === "loop" ? loops : refs).push(node.ref);
  return { refs, loops };
}
