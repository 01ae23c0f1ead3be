import { describe, expectTypeOf, it } from "vitest";
import { z } from "zod";
import {
  createMemoryEngine,
  flow,
  FlowBuilder,
  runSync,
  type SchemaInput,
  type SchemaOutput,
  task,
  type Task,
  type Workflow,
  type WorkflowInput,
  type WorkflowOutput,
} from "../src/index.js";

const Order = z.object({ id: z.string(), qty: z.number().default(1) });
type OrderIn = z.input<typeof Order>; // { id: string; qty?: number | undefined }
type OrderOut = z.output<typeof Order>; // { id: string; qty: number }
const Receipt = z.object({ total: z.number() });
type Receipt = z.infer<typeof Receipt>;

describe("flow(name, { input })", () => {
  it("takes the workflow's input type from what the schema accepts, and gives the first step what it produces", () => {
    const builder = flow("order", { input: Order });
    expectTypeOf(builder).toEqualTypeOf<FlowBuilder<OrderIn, OrderOut>>();
    const wf = builder.then("total", (o) => {
      expectTypeOf(o).toEqualTypeOf<OrderOut>();
      return o.qty * 2;
    });
    expectTypeOf(wf.build()).toEqualTypeOf<Workflow<OrderIn, number>>();
    expectTypeOf<WorkflowInput<ReturnType<typeof wf.build>>>().toEqualTypeOf<OrderIn>();
  });

  it("types start and in-process runs by the schema's input", async () => {
    const wf = flow("order", { input: Order })
      .then("id", (o) => o.id)
      .build();
    const engine = createMemoryEngine({ workflows: [wf] });
    await engine.start(wf, { id: "a" });
    // @ts-expect-error id must be a string
    await engine.start(wf, { id: 1 });
    expectTypeOf(runSync(wf, { id: "a", qty: 2 })).toEqualTypeOf<string>();
  });

  it("keeps flow<I>(name) working", () => {
    expectTypeOf(flow<number>("plain")).toEqualTypeOf<FlowBuilder<number, number>>();
  });

  it("refuses options without a schema", () => {
    // @ts-expect-error input must be a Standard Schema
    flow("bad", { input: { parse: (x: unknown) => x } });
  });
});

describe("task(id, fn, { input, output })", () => {
  it("infers In from the input schema and Out from the output schema", () => {
    const t = task(
      "price",
      (o) => {
        expectTypeOf(o).toEqualTypeOf<OrderOut>();
        return { total: o.qty * 10 };
      },
      { input: Order, output: Receipt },
    );
    expectTypeOf(t).toEqualTypeOf<Task<OrderIn, Receipt>>();
  });

  it("with an input schema only, Out comes from the function", () => {
    const t = task("label", async (o) => `#${o.id}`, { input: Order, retry: { maxAttempts: 2 } });
    expectTypeOf(t).toEqualTypeOf<Task<OrderIn, string>>();
  });

  it("with an output schema only, In comes from the function and it must return what the schema accepts", () => {
    const t = task("total", (n: number) => ({ total: n }), { output: Receipt });
    expectTypeOf(t).toEqualTypeOf<Task<number, Receipt>>();
    // @ts-expect-error total must be a number
    task("wrong", (n: number) => ({ total: String(n) }), { output: Receipt });
  });

  it("a transforming output schema gives the task the schema's output type", () => {
    const split = z.string().transform((s) => s.split(","));
    const t = task("split", (s: string) => s.trim(), { output: split });
    expectTypeOf(t).toEqualTypeOf<Task<string, string[]>>();
    expectTypeOf<SchemaInput<typeof split>>().toEqualTypeOf<string>();
    expectTypeOf<SchemaOutput<typeof split>>().toEqualTypeOf<string[]>();
  });

  it("types the next step of a flow by the output schema, and checks the previous output against the input schema", () => {
    const price = task("price", (o) => ({ total: o.qty }), { input: Order, output: Receipt });
    const wf = flow<OrderIn>("checkout")
      .then(price)
      .then("show", (r) => {
        expectTypeOf(r).toEqualTypeOf<Receipt>();
        return r.total;
      })
      .build();
    expectTypeOf(wf).toEqualTypeOf<Workflow<OrderIn, number>>();
    expectTypeOf<WorkflowOutput<typeof wf>>().toEqualTypeOf<number>();
    // @ts-expect-error the current value is a number, price wants an order
    flow<number>("x").then(price);
  });

  it("a task without schemas keeps its plain signature", () => {
    expectTypeOf(task("inc", (n: number) => n + 1)).toEqualTypeOf<Task<number, number>>();
    expectTypeOf(task("inc", (n: number) => n + 1, { timeout: "1s" })).toEqualTypeOf<Task<number, number>>();
  });
});
