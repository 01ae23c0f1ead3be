/**
 * What compensation means, written once for every executor: which committed
 * steps are undone when a run fails, in which order, and under which keys.
 *
 * A failed run undoes, in reverse commit order, every committed step whose
 * task has a `compensate`. Each compensation is a step of its own: it runs
 * with its task's retry policy and timeout and commits under
 * `<commit key>#compensate`, so a run resumed during compensation skips the
 * ones that committed. A durable run first commits its failure under
 * {@link FAILURE_KEY}, so a resumed run compensates instead of running the
 * failed step again. A compensation that still fails after its attempts is
 * recorded (its commit says so) and the others still run: one that cannot
 * undo its step must not keep the rest from undoing theirs.
 *
 * Step ids cannot hold `#`, so neither key can be a step's commit key. A
 * commit key finds its task's compensation by its ref: each map element
 * `[i]` stands for the map's `[]`, each loop iteration `#n` for `#`.
 */
import type { Compensation, Workflow } from "../builder/workflow.js";
import type { SerializedError } from "../errors.js";

/** Where a durable run that failed keeps its error while it compensates. */
export const FAILURE_KEY = "#failed";

const COMPENSATE_SUFFIX = "#compensate";

/** The commit key of the compensation of the step committed under `key`. */
export function compensationKey(key: string): string {
  return key + COMPENSATE_SUFFIX;
}

/** The commit key of the step a compensation key undoes, or null for a key that is not one. */
export function compensatedKey(key: string): string | null {
  return key.endsWith(COMPENSATE_SUFFIX) ? key.slice(0, -COMPENSATE_SUFFIX.length) : null;
}

/** What a compensation commits: that it ran, or the error it gave up with. */
export type CompensationOutcome = { readonly compensated: true } | { readonly compensated: false; readonly error: SerializedError };

/** A committed step to undo. */
export interface PendingCompensation {
  /** The step's commit key. */
  readonly key: string;
  readonly compensation: Compensation;
}

/**
 * The compensations still to run for a failed run, in the order to run them:
 * the steps of `committed` (commit keys in commit order) whose task has a
 * `compensate`, last committed first, without those already committed under
 * their compensation key.
 */
export function pendingCompensations(workflow: Workflow, committed: readonly string[]): PendingCompensation[] {
  const done = new Set(committed.map(compensatedKey).filter((k) => k !== null));
  const pending: PendingCompensation[] = [];
  for (const key of [...committed].reverse()) {
    if (key === FAILURE_KEY || compensatedKey(key) !== null || done.has(key)) continue;
    const compensation = compensationOf(workflow, key);
    if (compensation) pending.push({ key, compensation });
  }
  return pending;
}

/** True when the workflow has any compensation at all (a run of one without needs no extra write when it fails). */
export function hasCompensations(workflow: Workflow): boolean {
  return (workflow.compensations?.size ?? 0) > 0;
}

/**
 * The compensation of the task committed under `key`. `[3]` may be a map
 * element (ref `[]`) or a route key (ref `[3]`), so both readings are tried;
 * ids are unique within a flow, so at most one of them is a ref.
 */
function compensationOf(workflow: Workflow, key: string): Compensation | undefined {
  const compensations = workflow.compensations;
  if (!compensations || compensations.size === 0) return undefined;
  const parts = key.split(/(\[\d+\]|#\d+)/);
  let refs = [""];
  parts.forEach((part, i) => {
    if (i % 2 === 0) refs = refs.map((r) => r + part);
    else refs = refs.flatMap((r) => [r + (part.startsWith("[") ? "[]" : "#"), r + part]);
  });
  for (const ref of refs) {
    const found = compensations.get(ref);
    if (found) return found;
  }
  return undefined;
}
