/**
 * Signal definitions at build time, and which signals a run can still wait
 * for: the semantics `signal()` checks a name against.
 */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { branch, defineSignal, flow, LoopResult, reachableSignals, signalNamesOf, type CommittedSteps } from "../src/index.js";

const committed = (outputs: Record<string, unknown>): CommittedSteps => ({
  has: (key) => key in outputs,
  output: (key) => outputs[key],
});

describe("defineSignal", () => {
  it("refuses an empty name, a schema that is not a Standard Schema and an unknown option", () => {
    expect(() => defineSignal("")).toThrow(/signal name/);
    expect(() => defineSignal("a/b")).toThrow(/signal name/);
    expect(() => defineSignal("go", { schema: {} as never })).toThrow(/Standard Schema/);
    expect(() => defineSignal("go", { schemas: z.string() } as never)).toThrow(/unknown option "schemas"/);
  });

  it("keeps its schema out of the workflow's hash, as task schemas are", () => {
    const typed = flow<null>("h")
      .waitForSignal("w", defineSignal("go", { schema: z.string() }))
      .build();
    const plain = flow<null>("h").waitForSignal<string>("w", "go").build();
    expect(typed.hash).toBe(plain.hash);
    expect(typed.signalSchemas?.has("go")).toBe(true);
  });

  it("refuses one name waited for with two different schemas, anywhere in the tree", () => {
    const one = defineSignal("go", { schema: z.string() });
    const other = defineSignal("go", { schema: z.number() });
    expect(() => flow<null>("twice").waitForSignal("a", one).waitForSignal("b", one).build()).not.toThrow();
    expect(() => flow<null>("clash").waitForSignal("a", one).waitForSignal("b", other).build()).toThrow(/two different schemas/);
    const child = flow<string>("child").waitForSignal("c", other).build();
    expect(() => flow<null>("nested").waitForSignal("a", one).thenFlow(child).build()).toThrow(
      /signal "go" is waited for with two different schemas/,
    );
  });
});

describe("reachableSignals", () => {
  const wf = flow<null>("reach")
    .waitForSignal<string>("first", "go")
    .fork([
      branch("left", flow<string>("l").waitForSignal<string>("wl", "left-sig").build()),
      branch(
        "right",
        flow<string>("r")
          .then("id", (s) => s)
          .build(),
      ),
    ])
    .join("merge", (x) => x)
    .route("pick", () => "a" as const, ["a", "b"] as const)
    .branch("a", flow<unknown>("ra").waitForSignal<string>("wa", "only-a").build())
    .branch("b", flow<unknown>("rb").waitForSignal<string>("wb", "only-b").build())
    .done()
    .waitForSignal<string>("last", "go")
    .build();

  it("lists every name of the tree once, in tree order", () => {
    expect(signalNamesOf(wf.root)).toEqual(["go", "left-sig", "only-a", "only-b"]);
  });

  it("drops committed waits and the branches a committed route did not take", () => {
    expect([...reachableSignals(wf.root, committed({}))].sort()).toEqual(["go", "left-sig", "only-a", "only-b"]);
    expect([...reachableSignals(wf.root, committed({ first: "x", "left/wl": "y" }))].sort()).toEqual(["go", "only-a", "only-b"]);
    expect([...reachableSignals(wf.root, committed({ first: "x", "left/wl": "y", pick: "b" }))].sort()).toEqual(["go", "only-b"]);
    expect([...reachableSignals(wf.root, committed({ first: "x", "left/wl": "y", pick: "a", "pick[a]/wa": 1, last: 2 }))]).toEqual([]);
  });

  it("counts the waits of a race's branches, a map's elements and a loop's body as ahead", () => {
    const decided = flow<null>("decide")
      .race("outcome", [
        branch("approve", flow<null>("a").waitForSignal<string>("wait", "approved").build()),
        branch("reject", flow<null>("r").waitForSignal<string>("wait", "rejected").build()),
      ])
      .map("each", () => [1, 2], flow<number>("item").waitForSignal<string>("ack", "item-ack").build())
      .loop(
        "poll",
        flow<unknown>("tick")
          .waitForSignal("nudge", "nudged")
          .then("again", (x) => LoopResult.done(x))
          .build(),
        {
          maxIterations: 3,
        },
      )
      .build();
    expect([...reachableSignals(decided.root, committed({}))].sort()).toEqual(["approved", "item-ack", "nudged", "rejected"]);
    expect([...reachableSignals(decided.root, committed({ "approve/wait": "ok" }))].sort()).toEqual(["item-ack", "nudged", "rejected"]);
  });
});
