/**
 * Which commit keys belong to a set of steps, the one rule both stores apply
 * (the Redis scripts through `lua/includes/lifecycle.lua`): a step's ref is its
 * commit key, and a loop's iterations commit as `<ref>#<n>`.
 */
import type { StepKeySet } from "./types.js";

const ITERATION = /^(.+)#\d+$/;

/** A predicate: does commit key `key` belong to `set`? */
export function stepKeyMatcher(set: StepKeySet): (key: string) => boolean {
  const refs = new Set(set.refs);
  const loops = new Set(set.loops);
  return (key) => {
    if (refs.has(key)) return true;
    const loop = ITERATION.exec(key)?.[1];
    return loop !== undefined && loops.has(loop);
  };
}
