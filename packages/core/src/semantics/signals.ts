/**
 * Which signals a run can wait for, read from the continuation tree: every
 * name the definition waits for (what a store records at start), and the
 * names still ahead of a run given its committed steps (what `signal()`
 * checks a name against when the definition is at hand). Written once here so
 * a sender and a view never disagree on what "can still wait for" means.
 */
import type { Continuation } from "../tree/nodes.js";
import { nodesOf } from "../tree/nodes.js";

/** Every signal name the tree waits for, in tree order, once each. */
export function signalNamesOf(root: Continuation): readonly string[] {
  const names = new Set<string>();
  for (const node of nodesOf(root)) if (node.kind === "awaitSignal") names.add(node.signal);
  return [...names];
}

/** A run's committed steps, as far as reachability needs them. */
export interface CommittedSteps {
  /** True once the step with commit key `key` committed. */
  has(key: string): boolean;
  /** The committed output of `key` (read for a route's chosen key only). */
  output(key: string): unknown;
}

/**
 * The signal names a run can still wait for: the signal waits it has not
 * committed, except those in route branches it did not take (and every wait
 * inside a map or a loop body). A committed wait
 * took its signal (or its timeout value) and never waits again; a route whose
 * key is committed only ever runs that key's branch (or its default).
 */
export function reachableSignals(root: Continuation, committed: CommittedSteps): ReadonlySet<string> {
  const names = new Set<string>();
  const visit = (start: Continuation | null): void => {
    for (let node = start; node; node = node.next) {
      if (node.kind === "awaitSignal" && !committed.has(node.ref)) names.add(node.signal);
      if (node.kind === "fork" || node.kind === "race") for (const b of node.branches) visit(b.root);
      // A map's elements and a loop's iterations commit under keys made at run time (`id[i]/`, `id#n/`):
      // their waits count as ahead while the run is live, a generous answer but never a wrong refusal.
      if (node.kind === "map") visit(node.body);
      if (node.kind === "loop" && node.body) visit(node.body);
      if (node.kind === "route") {
        if (!committed.has(node.ref)) {
          for (const b of node.branches) visit(b.root);
          visit(node.defaultBranch);
        } else {
          const key = committed.output(node.ref);
          visit(node.branches.find((b) => b.key === key)?.root ?? node.defaultBranch);
        }
      }
    }
  };
  visit(root);
  return names;
}
