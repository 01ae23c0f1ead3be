import { describe, expectTypeOf, it } from "vitest";
import {
  branch,
  flow,
  FlowBuilder,
  LoopResult,
  runAsync,
  runSync,
  RUN_EVENT_TYPES,
  task,
  type RunEvent,
  type RunEventType,
  type Task,
  type TaskContext,
  type Workflow,
  type WorkflowInput,
  type WorkflowOutput,
} from "../src/index.js";

interface Order {
  readonly id: string;
  readonly size: number;
}
interface Reserved extends Order {
  readonly reservation: string;
}

const reserve = task("reserve", (o: Order): Reserved => ({ ...o, reservation: `r-${o.id}` }));
const charge = task("charge", async (r: Reserved) => ({ paid: r.size * 10 }));
const pack = flow<Reserved>("pack")
  .then("label", (r) => `label:${r.id}`)
  .then("weigh", (label) => ({ label, grams: label.length }))
  .build();

describe("task()", () => {
  it("infers input and output, unwrapping a promise", () => {
    expectTypeOf(reserve).toEqualTypeOf<Task<Order, Reserved>>();
    expectTypeOf(charge).toEqualTypeOf<Task<Reserved, { paid: number }>>();
  });

  it("gives the function a typed context", () => {
    task("ctx", (_: number, ctx) => {
      expectTypeOf(ctx).toEqualTypeOf<TaskContext>();
      expectTypeOf(ctx.stepId).toBeString();
      expectTypeOf(ctx.attempt).toBeNumber();
      expectTypeOf(ctx.signal).toEqualTypeOf<AbortSignal>();
      return 1;
    });
  });
});

describe("then", () => {
  it("types each step's input with the previous step's output", () => {
    flow<Order>("o")
      .then(reserve)
      .then("next", (r) => {
        expectTypeOf(r).toEqualTypeOf<Reserved>();
        return r.reservation.length;
      })
      .then("last", (n) => {
        expectTypeOf(n).toEqualTypeOf<number>();
        return n > 0;
      });
  });

  it("starts from the flow's input type", () => {
    flow<Order>("o").then("first", (o) => {
      expectTypeOf(o).toEqualTypeOf<Order>();
      return o;
    });
  });

  it("unwraps async inline steps", () => {
    const b = flow<number>("a").then("fetch", async (n) => String(n));
    expectTypeOf(b).toEqualTypeOf<FlowBuilder<number, string>>();
  });

  it("rejects a task whose input type is not the current output", () => {
    const needsString = task("s", (s: string) => s.length);
    // @ts-expect-error the current value is a number, the task wants a string
    flow<number>("bad").then(needsString);
    // @ts-expect-error a Reserved is wanted, an Order is not one
    flow<Order>("bad").then(charge);
  });
});

describe("Workflow<In, Out>", () => {
  it("carries the input and output types", () => {
    const wf = flow<Order>("order").then(reserve).then(charge).build();
    expectTypeOf(wf).toEqualTypeOf<Workflow<Order, { paid: number }>>();
    expectTypeOf<WorkflowInput<typeof wf>>().toEqualTypeOf<Order>();
    expectTypeOf<WorkflowOutput<typeof wf>>().toEqualTypeOf<{ paid: number }>();
  });

  it("types the executors' input and output", () => {
    const wf = flow<Order>("order").then(reserve).build();
    expectTypeOf(runSync(wf, { id: "a", size: 1 })).toEqualTypeOf<Reserved>();
    expectTypeOf(runAsync(wf, { id: "a", size: 1 })).toEqualTypeOf<Promise<Reserved>>();
    // @ts-expect-error the workflow's input is an Order
    runSync(wf, "not an order");
  });
});

describe("fork / join", () => {
  it("gives the join each branch's output under its branch id", () => {
    const wf = flow<Order>("order")
      .then(reserve)
      .fork([
        branch("charge", charge),
        branch("pack", pack),
        branch(
          "id",
          task("id", (r: Reserved) => r.id),
        ),
      ])
      .join("merge", (outs) => {
        expectTypeOf(outs).toEqualTypeOf<{ charge: { paid: number }; pack: { label: string; grams: number }; id: string }>();
        return { ...outs.charge, ...outs.pack };
      })
      .build();
    expectTypeOf(wf).toEqualTypeOf<Workflow<Order, { label: string; grams: number; paid: number }>>();
  });

  it("rejects a join that reads a branch id that does not exist", () => {
    flow<Order>("order")
      .then(reserve)
      .fork([branch("charge", charge), branch("pack", pack)])
      // @ts-expect-error there is no branch "ship"
      .join("merge", ({ ship }) => ship === undefined);
  });

  it("rejects a branch whose input is not the current value", () => {
    flow<Order>("order")
      // @ts-expect-error charge wants a Reserved, the fork gets an Order
      .fork([branch("charge", charge)]);
  });
});

describe("route", () => {
  it("checks branch keys against the declared set and unions the branch outputs", () => {
    const b = flow<Order>("r")
      .route("by-size", (o) => (o.size > 10 ? "large" : "small"), ["small", "large"] as const)
      .branch(
        "small",
        task("s", (o: Order) => o.size),
      )
      .branch(
        "large",
        task("l", (o: Order) => o.id),
      )
      .done();
    expectTypeOf(b).toEqualTypeOf<FlowBuilder<Order, number | string>>();
  });

  it("includes the default branch's output", () => {
    const b = flow<Order>("r")
      .route("by-size", () => "small", ["small", "large"] as const)
      .branch(
        "small",
        task("s", (o: Order) => o.size),
      )
      .defaultBranch(task("d", (_: Order) => true))
      .done();
    expectTypeOf(b).toEqualTypeOf<FlowBuilder<Order, number | boolean>>();
  });

  it("rejects a branch key outside the declared set", () => {
    const route = flow<Order>("r").route("by-size", () => "small", ["small", "large"] as const);
    const huge = task("h", (o: Order) => o);
    // @ts-expect-error "huge" is not a declared key
    route.branch("huge", huge);
  });

  it("rejects a key function answering an undeclared key", () => {
    // @ts-expect-error "medium" is not a declared key
    flow<Order>("r").route("by-size", () => "medium", ["small", "large"] as const);
  });
});

describe("loop", () => {
  it("feeds the body its own again-values and outputs the done-value type", () => {
    const b = flow<number>("l").loop(
      "poll",
      (n) => {
        expectTypeOf(n).toEqualTypeOf<number>();
        return n > 3 ? LoopResult.done(`done at ${n}`) : LoopResult.again(n + 1);
      },
      { maxIterations: 10 },
    );
    expectTypeOf(b).toEqualTypeOf<FlowBuilder<number, string>>();
  });

  it("rejects an again-value of another type than the loop's input", () => {
    flow<number>("l").loop(
      "poll",
      // @ts-expect-error again() must carry a number, the loop's input
      (n) => (n > 3 ? LoopResult.done(n) : LoopResult.again("more")),
      { maxIterations: 10 },
    );
  });

  it("requires maxIterations", () => {
    // @ts-expect-error maxIterations is required
    flow<number>("l").loop("poll", (n) => LoopResult.done(n), {});
  });
});

describe("delay and waitForSignal", () => {
  it("passes the value through a delay", () => {
    expectTypeOf(flow<Order>("d").delay("wait", "10m")).toEqualTypeOf<FlowBuilder<Order, Order>>();
  });

  it("rejects a duration string with an unknown unit", () => {
    // @ts-expect-error "10 minutes" is not a Duration
    flow<Order>("d").delay("wait", "10 minutes");
  });

  it("types the next input with the signal's payload type", () => {
    const b = flow<Order>("s")
      .waitForSignal<{ by: string }>("approval", "approved", { timeout: "2d" })
      .then("next", (p) => {
        expectTypeOf(p).toEqualTypeOf<{ by: string }>();
        return p.by;
      });
    expectTypeOf(b).toEqualTypeOf<FlowBuilder<Order, string>>();
  });

  it("checks onTimeout against the payload type", () => {
    flow<Order>("s").waitForSignal<{ by: string }>("approval", "approved", { onTimeout: { by: "nobody" } });
    // @ts-expect-error onTimeout must be a payload
    flow<Order>("s").waitForSignal<{ by: string }>("approval", "approved", { onTimeout: 42 });
  });
});

describe("thenFlow", () => {
  it("continues with the child workflow's output", () => {
    const child = flow<Reserved>("child")
      .then("n", (r) => r.size)
      .build();
    const b = flow<Order>("p").then(reserve).thenFlow(child);
    expectTypeOf(b).toEqualTypeOf<FlowBuilder<Order, number>>();
  });

  it("rejects a child whose input type is not the current value", () => {
    const wantsString = flow<string>("child")
      .then("len", (s) => s.length)
      .build();
    // @ts-expect-error the current value is an Order, the child wants a string
    flow<Order>("p").thenFlow(wantsString);
  });
});

describe("the history's vocabulary", () => {
  it("names every kind of RunEvent once, in RUN_EVENT_TYPES", () => {
    expectTypeOf<RunEvent["type"]>().toEqualTypeOf<RunEventType>();
    expectTypeOf<(typeof RUN_EVENT_TYPES)[number]>().toEqualTypeOf<RunEvent["type"]>();
  });

  it("narrows an event by its type", () => {
    const describe = (event: RunEvent): string =>
      event.type === "retry.scheduled" ? `${event.key} ${event.error.message} ${event.retryAt}` : event.type;
    expectTypeOf(describe).returns.toEqualTypeOf<string>();
  });
});
