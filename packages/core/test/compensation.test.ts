/** Which committed steps a failed run undoes, and in which order (semantics/compensation.ts). */
import { describe, expect, it } from "vitest";
import { flow, LoopResult, task, type Workflow } from "../src/index.js";
import { pendingCompensations } from "../src/semantics/compensation.js";

const undoable = (id: string) => task(id, (n: number) => n, { compensate: () => {} });

describe("pendingCompensations", () => {
  const wf = flow<number>("saga")
    .then(undoable("reserve"))
    .map("lines", (n) => [n, n], undoable("charge"))
    .then("count", (xs: number[]) => xs.length)
    .route("r", (n) => (n === 2 ? "2" : "3"), ["2", "3"] as const)
    .branch("2", undoable("two"))
    .defaultBranch(task("plain", (n: number) => n))
    .done()
    .loop(
      "poll",
      task("tick", (n: number) => LoopResult.done(n), { compensate: () => {} }),
      { maxIterations: 3 },
    )
    .build() as Workflow;

  it("finds map elements, route branches and loop iterations, last committed first", () => {
    const committed = ["reserve", "lines", "lines[1]/charge", "lines[0]/charge", "count", "r", "r[2]/two", "poll#1"];
    expect(pendingCompensations(wf, committed).map((p) => p.key)).toEqual([
      "poll#1",
      "r[2]/two",
      "lines[0]/charge",
      "lines[1]/charge",
      "reserve",
    ]);
  });

  it("skips steps already compensated and the failure record", () => {
    const committed = ["reserve", "lines[0]/charge", "#failed", "lines[0]/charge#compensate"];
    expect(pendingCompensations(wf, committed).map((p) => p.key)).toEqual(["reserve"]);
  });

  it("finds nothing for a workflow without compensations", () => {
    const plain = flow<number>("plain")
      .then("a", (n) => n)
      .build() as Workflow;
    expect(pendingCompensations(plain, ["a"])).toEqual([]);
  });
});
