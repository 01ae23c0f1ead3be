import { describe, expectTypeOf, it } from "vitest";
import { branch, flow, LoopResult, task, type Workflow } from "../src/index.js";

const toCents = task("cents", (n: number) => `${n * 100}c`);
const element = flow<number>("el")
  .then("half", (n) => n / 2)
  .then("flag", (n) => n > 1)
  .build();

describe("map", () => {
  it("types each element's input by the items and gives the next step the array of outputs", () => {
    const wf = flow<{ lines: number[] }>("m")
      .map("each", (order) => order.lines, toCents)
      .map("again", () => [1, 2], element)
      .build();
    expectTypeOf(wf).toEqualTypeOf<Workflow<{ lines: number[] }, boolean[]>>();
    flow<{ lines: number[] }>("m")
      .map("each", (order) => order.lines, toCents)
      .then("join", (xs) => expectTypeOf(xs).toEqualTypeOf<string[]>());
  });

  it("refuses a target whose input is not the item type", () => {
    // @ts-expect-error the items are strings, the task takes numbers
    flow<null>("m").map("each", () => ["a"], toCents);
  });
});

describe("race", () => {
  it("gives the next step { winner, output } with each winner's own output type", () => {
    const wf = flow<number>("r")
      .race("pick", [branch("cents", toCents), branch("flag", element)])
      .build();
    type Outcome = { readonly winner: "cents"; readonly output: string } | { readonly winner: "flag"; readonly output: boolean };
    expectTypeOf(wf).toEqualTypeOf<Workflow<number, Outcome>>();
    flow<number>("r")
      .race("pick", [branch("cents", toCents), branch("flag", element)])
      .then("use", (r) => {
        if (r.winner === "cents") expectTypeOf(r.output).toEqualTypeOf<string>();
        else expectTypeOf(r.output).toEqualTypeOf<boolean>();
      });
  });

  it("refuses a branch whose input is not the current value", () => {
    // @ts-expect-error the current value is a string, the task takes numbers
    flow<string>("r").race("pick", [branch("cents", toCents)]);
  });
});

describe("delay and loop", () => {
  it("takes a function of the current value returning a duration or a date", () => {
    flow<{ due: Date }>("d").delay("until", (x) => x.due);
    flow<number>("d").delay("wait", (n) => n * 1000);
    // @ts-expect-error a delay function returns a duration or a date
    flow<number>("d").delay("wait", () => true);
  });

  it("types a loop's output, adding the loop's input with onMax: exitWithLast", () => {
    const body = flow<number>("b")
      .then("step", (n) => (n > 3 ? LoopResult.done(`${n}`) : LoopResult.again(n + 1)))
      .build();
    expectTypeOf(flow<number>("l").loop("l", body, { maxIterations: 5 }).build()).toEqualTypeOf<Workflow<number, string>>();
    expectTypeOf(flow<number>("l").loop("l", body, { maxIterations: 5, onMax: "exitWithLast" }).build()).toEqualTypeOf<
      Workflow<number, string | number>
    >();
  });

  it("refuses unknown options in typed code", () => {
    // @ts-expect-error no such option
    flow<number>("f", { priority: 1 });
    // @ts-expect-error no such option
    flow<number>("f").map("m", () => [1], toCents, { tags: [] });
  });
});
