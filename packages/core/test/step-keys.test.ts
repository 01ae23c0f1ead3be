/**
 * Which commit keys a rewind drops and a migration allows, read from the tree
 * (`rewindKeys`, `definitionKeys`), matched by `stepKeyMatcher` (the rule the
 * Redis scripts mirror); and which keys a loop's commit replaces.
 */
import { describe, expect, it } from "vitest";
import { replacedKeys } from "../src/executors/checkpoint.js";
import { branch, definitionKeys, flow, LoopResult, rewindKeys, stepKeyMatcher, task } from "../src/index.js";

const inc = (n: number) => n + 1;
const element = flow<number>("el").then("price", inc).then("tax", inc).build();
const body = flow<number>("body")
  .then("check", inc)
  .then("decide", (n: number) => (n > 3 ? LoopResult.done(n) : LoopResult.again(n)))
  .build();
const wf = flow<number>("shapes")
  .map("lines", (n: number) => [n, n], element)
  .then("sum", (xs: number[]) => xs.length)
  .race("first", [branch("a", task("a1", inc)), branch("b", flow<number>("b").then("b1", inc).then("b2", inc).build())])
  .then("pick", (r: { output: number }) => r.output)
  .loop("poll", body, { maxIterations: 9 })
  .loop("count", (n: number) => (n > 5 ? LoopResult.done(n) : LoopResult.again(n + 1)), { maxIterations: 9 })
  .then("end", inc)
  .build();

/** The committed keys of a finished run of `wf` (two map elements, race won by `a`, two iterations kept). */
const COMMITTED = [
  "lines",
  "lines[0]/price",
  "lines[0]/tax",
  "lines[1]/price",
  "lines[1]/tax",
  "sum",
  "a/a1",
  "b/b1",
  "first",
  "pick",
  "poll#3/check",
  "poll#3/decide",
  "poll#4/check",
  "poll#4/decide",
  "count#6",
  "end",
];

const dropped = (to: string) => {
  const set = rewindKeys(wf, to);
  if (!set) return undefined;
  const match = stepKeyMatcher(set);
  return COMMITTED.filter(match);
};

describe("rewind keys", () => {
  it("a step of a map element: the rest of that element and what follows the map", () => {
    expect(dropped("lines[1]/price")).toEqual([
      "lines[1]/price",
      "lines[1]/tax",
      "sum",
      "a/a1",
      "b/b1",
      "first",
      "pick",
      "poll#3/check",
      "poll#3/decide",
      "poll#4/check",
      "poll#4/decide",
      "count#6",
      "end",
    ]);
  });

  it("a map's own key (its items): every element and what follows", () => {
    expect(dropped("lines")).toEqual(COMMITTED);
  });

  it("a step of a race branch: the rest of the branch, the outcome and what follows; the other branch keeps its output", () => {
    expect(dropped("b/b1")).toEqual(["b/b1", "first", "pick", ...COMMITTED.slice(COMMITTED.indexOf("poll#3/check"))]);
  });

  it("a step of a sub-flow loop body, or a call of a loop's body function: the whole loop and what follows", () => {
    const fromPoll = ["poll#3/check", "poll#3/decide", "poll#4/check", "poll#4/decide", "count#6", "end"];
    expect(dropped("poll#4/check")).toEqual(fromPoll);
    expect(dropped("count#6")).toEqual(["count#6", "end"]);
  });

  it("a key the definition has no step for is undefined", () => {
    for (const key of ["nope", "lines[x]/price", "lines[1]/nope", "poll#3/nope", "poll#x/check", "count", "count#"]) {
      expect(rewindKeys(wf, key), key).toBeUndefined();
    }
  });
});

describe("definition keys", () => {
  it("allow every key a run of the definition commits, any element and any iteration, and nothing else", () => {
    const allowed = stepKeyMatcher(definitionKeys(wf));
    expect(COMMITTED.filter((k) => !allowed(k))).toEqual([]);
    for (const key of ["lines[0]", "poll#3", "poll", "count#x", "lines[1]/other", "b/b3", "lines[1]/price/x"]) {
      expect(allowed(key), key).toBe(false);
    }
  });
});

describe("replaced keys", () => {
  const committed = ["a", "poll#1/check", "poll#1/decide", "poll#2/check", "poll#2/decide", "count#4", "o#2/i#1/x", "o#2/i#2/x"];

  it("a body function's call replaces the earlier calls", () => {
    expect(replacedKeys("count#5", committed)).toEqual(["count#4"]);
  });

  it("a step of iteration n of a sub-flow body replaces the iterations before n-1", () => {
    expect(replacedKeys("poll#2/check", committed)).toEqual([]);
    expect(replacedKeys("poll#3/check", committed)).toEqual(["poll#1/check", "poll#1/decide"]);
  });

  it("loops nested in loops apply the rule at each level", () => {
    expect(replacedKeys("o#2/i#3/x", committed)).toEqual(["o#2/i#1/x"]);
    expect(replacedKeys("o#4/i#1/x", committed)).toEqual(["o#2/i#1/x", "o#2/i#2/x"]);
  });

  it("a key outside loops replaces nothing", () => {
    expect(replacedKeys("a", committed)).toEqual([]);
    expect(replacedKeys("lines[3]/price", committed)).toEqual([]);
  });
});
