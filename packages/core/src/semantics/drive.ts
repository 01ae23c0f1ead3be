/**
 * Drivers of the walk: they perform the effects it yields and send the results
 * back. How several walks run together (fork branches, map elements, race
 * branches) is decided here, once for every executor; an executor provides how
 * a single step is performed, and, for a durable one, which failures mean "not
 * finished yet" (a branch that parked) and how several failures combine.
 */
import { CancelledError } from "../errors.js";
import type { CallEffect, DelayEffect, Effect, RaceEffect, RaceOutcome, SignalEffect, Walk } from "./walk.js";

/** An effect a performer performs itself: one step. */
export type StepEffect = CallEffect | DelayEffect | SignalEffect;

/** Performs one step synchronously. Branches, map elements and races are handled by {@link driveSync} itself. */
export type SyncPerformer = (effect: StepEffect) => unknown;

/**
 * Where a walk runs. `signal` aborts when the walk must stop: its run stops, or
 * it is a branch of a race that another branch won. Tasks run under it.
 */
export interface Scope {
  readonly signal: AbortSignal;
}

/** Performs the steps of a walk driven by {@link driveAsync}. */
export interface AsyncPerformer {
  perform(effect: StepEffect, scope: Scope): Promise<unknown>;
  /**
   * Runs a race through `run`; a durable performer answers from the race's
   * committed outcome, or commits the one `run` decides. By default, `run()`.
   */
  race?(effect: RaceEffect, run: () => Promise<RaceOutcome>, scope: Scope): Promise<unknown>;
  /** True for a failure that means "not finished yet" (a durable walk that parked): the other walks go on. */
  waiting?(error: unknown): boolean;
  /** The one error thrown for the failures of several walks (never empty); by default the first. */
  combine?(failures: readonly unknown[]): unknown;
}

const NEVER_ABORTED: Scope = { signal: new AbortController().signal };

/** Drives a walk to its end on this thread: fork branches and map elements one after another, a race's first branch wins. */
export function driveSync(walk: Walk, perform: SyncPerformer): unknown {
  let step = walk.next();
  while (!step.done) {
    step = walk.next(performSync(step.value, perform));
  }
  return step.value;
}

function performSync(effect: Effect, perform: SyncPerformer): unknown {
  switch (effect.type) {
    case "all":
      return effect.branches.map((b) => driveSync(b.walk, perform));
    case "map":
      return Array.from({ length: effect.count }, (_, i) => driveSync(effect.element(i), perform));
    case "race": {
      // Nothing runs concurrently here: the first branch is the first to finish.
      const first = effect.branches[0]!;
      return { winner: first.id, output: driveSync(first.walk, perform) } satisfies RaceOutcome;
    }
    default:
      return perform(effect);
  }
}

/** Drives a walk to its end, awaiting each effect; fork branches, map elements and race branches run concurrently. */
export async function driveAsync(walk: Walk, performer: AsyncPerformer, scope: Scope = NEVER_ABORTED): Promise<unknown> {
  const drive = (w: Walk) => driveAsync(w, performer, scope);
  let step = walk.next();
  while (!step.done) {
    const effect = step.value;
    let result: unknown;
    switch (effect.type) {
      case "all":
        result = await together(effect.branches.length, effect.branches.length, (i) => drive(effect.branches[i]!.walk), performer);
        break;
      case "map":
        result = await together(effect.count, effect.node.concurrency, (i) => drive(effect.element(i)), performer);
        break;
      case "race": {
        const run = () => race(effect, performer, scope);
        result = await (performer.race ? performer.race(effect, run, scope) : run());
        break;
      }
      default:
        result = await performer.perform(effect, scope);
    }
    step = walk.next(result);
  }
  return step.value;
}

/**
 * Runs `count` walks, at most `concurrency` at once, and returns their outputs
 * in order. A walk that is waiting frees its place for the next. After a
 * failure no new walk starts; once the running ones settled, the combined
 * failure is thrown (so nothing is still running when a fork or map fails).
 */
async function together(
  count: number,
  concurrency: number,
  start: (index: number) => Promise<unknown>,
  performer: AsyncPerformer,
): Promise<unknown[]> {
  const outputs = new Array<unknown>(count);
  const failures: unknown[] = [];
  let failed = false;
  let next = 0;
  const lane = async () => {
    while (!failed && next < count) {
      const index = next++;
      try {
        outputs[index] = await start(index);
      } catch (e) {
        failures.push(e);
        if (!performer.waiting?.(e)) failed = true;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  if (failures.length > 0) throw combine(performer, failures);
  return outputs;
}

/**
 * The first branch to finish wins; the others are cancelled through their
 * scope (their tasks aborted, and a durable driver takes nothing more for
 * them). The first branch to fail fails the race the same way. Branches that
 * are waiting do not decide it. Returns once every branch has settled.
 */
async function race(effect: RaceEffect, performer: AsyncPerformer, scope: Scope): Promise<RaceOutcome> {
  const controllers = effect.branches.map(() => new AbortController());
  const failures: unknown[] = [];
  let outcome: RaceOutcome | null = null;
  let failed = false;
  const cancelAllBut = (index: number, why: string) => {
    const reason = new CancelledError(`branch of race "${effect.key}" cancelled: ${why}`, { step: effect.key });
    controllers.forEach((c, i) => i !== index && c.abort(reason));
  };
  await Promise.all(
    effect.branches.map(async (b, index) => {
      const signal = AbortSignal.any([scope.signal, controllers[index]!.signal]);
      try {
        const output = await driveAsync(b.walk, performer, { signal });
        // Decided in the same microtask as the branch ended, so no other branch takes anything after.
        if (outcome !== null || failed) return;
        outcome = { winner: b.id, output };
        cancelAllBut(index, `branch "${b.id}" won`);
      } catch (e) {
        if (outcome !== null || failed) return;
        failures.push(e);
        if (performer.waiting?.(e)) return;
        failed = true;
        cancelAllBut(index, `branch "${b.id}" failed`);
      }
    }),
  );
  if (outcome !== null) return outcome;
  throw combine(performer, failures);
}

function combine(performer: AsyncPerformer, failures: readonly unknown[]): unknown {
  return performer.combine ? performer.combine(failures) : failures[0];
}
