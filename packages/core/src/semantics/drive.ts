import type { Effect, Walk } from "./walk.js";

/** Performs one effect synchronously. `all` effects are handled by {@link driveSync} itself. */
export type SyncPerformer = (effect: Exclude<Effect, { type: "all" }>) => unknown;
/** Performs one effect. `all` effects are handled by {@link driveAsync} unless `all` is given. */
export interface AsyncPerformer {
  perform(effect: Exclude<Effect, { type: "all" }>): Promise<unknown>;
  /** Runs branch walks; by default all at once, failing with the first error once every branch settled. */
  all?(effect: Extract<Effect, { type: "all" }>, drive: (walk: Walk) => Promise<unknown>): Promise<unknown[]>;
}

/** Drives a walk to its end on this thread; fork branches run one after another. */
export function driveSync(walk: Walk, perform: SyncPerformer): unknown {
  let step = walk.next();
  while (!step.done) {
    const effect = step.value;
    const result = effect.type === "all" ? effect.branches.map((b) => driveSync(b.walk, perform)) : perform(effect);
    step = walk.next(result);
  }
  return step.value;
}

/** Drives a walk to its end, awaiting each effect; fork branches run concurrently. */
export async function driveAsync(walk: Walk, performer: AsyncPerformer): Promise<unknown> {
  const drive = (w: Walk) => driveAsync(w, performer);
  let step = walk.next();
  while (!step.done) {
    const effect = step.value;
    const result =
      effect.type !== "all"
        ? await performer.perform(effect)
        : performer.all
          ? await performer.all(effect, drive)
          : await allBranches(effect.branches.map((b) => drive(b.walk)));
    step = walk.next(result);
  }
  return step.value;
}

/** Waits for every branch, so no branch is still running when the fork fails; then throws the first error. */
export async function allBranches(runs: readonly Promise<unknown>[]): Promise<unknown[]> {
  const settled = await Promise.allSettled(runs);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value);
}
