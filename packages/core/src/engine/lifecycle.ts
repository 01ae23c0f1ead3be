/**
 * The client-side half of the run lifecycle: retention settings, and which
 * commit keys a rewind drops or a migration allows, read from a definition's
 * tree. The stores apply the result atomically (one Lua script on Redis).
 */
import type { Workflow } from "../builder/workflow.js";
import type { RetentionMs, StepKeySet, Store } from "../store/types.js";
import { nodesOf, type Continuation } from "../tree/nodes.js";

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
