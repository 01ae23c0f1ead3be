/**
 * Payload validation with Standard Schema (zod here): at `start`, before
 * anything is stored, and around every step, on every executor.
 */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  branch,
  createMemoryEngine,
  type EmbeddedEngine,
  flow,
  isParkwayError,
  type MemoryStore,
  runAsync,
  runSync,
  type StandardSchemaV1,
  task,
  UnknownInstanceError,
  UnsupportedStepError,
  ValidationError,
  type Workflow,
} from "../src/index.js";

const Order = z.object({
  id: z.string(),
  items: z.array(z.object({ sku: z.string(), qty: z.number().int().positive() })).min(1),
});
type Order = z.infer<typeof Order>;

/** A schema whose validate answers later, as an async refinement would. */
function asyncSchema<T>(): StandardSchemaV1<T> {
  return { "~standard": { version: 1, vendor: "test", validate: async (value) => ({ value: value as T }) } };
}

async function withEngine<T>(workflows: Workflow<never, unknown>[], body: (engine: EmbeddedEngine<MemoryStore>) => Promise<T>): Promise<T> {
  const engine = createMemoryEngine({ workflows });
  try {
    return await body(engine);
  } finally {
    await engine.close();
  }
}

async function caught(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail("expected a rejection"),
    (e: unknown) => e,
  );
}

describe("a workflow's input schema", () => {
  const order = flow("order", { input: Order })
    .then("count", (o) => o.items.reduce((n, i) => n + i.qty, 0))
    .build();

  it("rejects a bad start with ValidationError listing each issue by path, and stores nothing", async () => {
    await withEngine([order], async (engine) => {
      const bad = { id: 7, items: [{ sku: "book", qty: 0 }] };
      const e = await caught(engine.start(order, bad as unknown as Order, { id: "bad-1" }));
      expect(e).toBeInstanceOf(ValidationError);
      expect(isParkwayError(e, "VALIDATION")).toBe(true);
      const error = e as ValidationError;
      expect(error.message).toContain('input of workflow "order" does not match its schema');
      expect(error.message).toContain("id: ");
      expect(error.message).toContain("items[0].qty: ");
      expect(error.context).toMatchObject({ workflow: "order", instanceId: "bad-1" });
      expect((error.context.issues as { path: string }[]).map((i) => i.path)).toEqual(["id", "items[0].qty"]);

      expect((await engine.list()).runs).toEqual([]);
      await expect(engine.status("bad-1")).rejects.toBeInstanceOf(UnknownInstanceError);
    });
  });

  it("a start by registered name is checked too", async () => {
    await withEngine([order], async (engine) => {
      await expect(engine.start("order", { id: "x", items: [] }, { id: "bad-2" })).rejects.toThrow("items: ");
      expect((await engine.list()).runs).toEqual([]);
    });
  });

  it("stores and runs on the schema's output, so defaults and transforms apply", async () => {
    const wf = flow("defaults", { input: z.object({ n: z.number().default(5), label: z.string().trim() }) })
      .then("show", (x) => `${x.label}=${x.n}`)
      .build();
    await withEngine([wf], async (engine) => {
      await engine.start(wf, { label: "  n " }, { id: "d-1" });
      await expect(engine.result("d-1", { timeout: "5s" })).resolves.toBe("n=5");
      expect((await engine.status("d-1")).input).toEqual({ n: 5, label: "n" });
    });
  });

  it("in-process runs check the input as well", async () => {
    expect(() => runSync(order, { id: "o", items: [] })).toThrow(ValidationError);
    await expect(runAsync(order, { id: "o", items: [] })).rejects.toThrow(ValidationError);
    expect(runSync(order, { id: "o", items: [{ sku: "a", qty: 2 }] })).toBe(2);
  });
});

describe("a task's schemas", () => {
  it("a step output failing its schema fails the run with VALIDATION naming the step, earlier steps still committed, no retry", async () => {
    let calls = 0;
    const price = task(
      "price",
      (o: Order) => {
        calls++;
        return { total: o.id === "free" ? -1 : 10 };
      },
      { output: z.object({ total: z.number().nonnegative() }), retry: { maxAttempts: 3, backoff: { initial: 1 } } },
    );
    const wf = flow("checkout", { input: Order })
      .then("normalize", (o) => ({ ...o, id: o.id.toLowerCase() }))
      .then(price)
      .then("ship", (p) => p.total)
      .build();
    await withEngine([wf], async (engine) => {
      await engine.start(wf, { id: "FREE", items: [{ sku: "a", qty: 1 }] }, { id: "c-1" });
      const e = await caught(engine.result("c-1", { timeout: "5s" }));
      expect(isParkwayError(e, "RUN_FAILED")).toBe(true);
      expect(isParkwayError((e as Error).cause, "VALIDATION")).toBe(true);

      const view = await engine.status("c-1");
      expect(view.status).toBe("failed");
      expect(view.error).toMatchObject({ code: "VALIDATION", step: "price" });
      expect(view.error?.message).toContain('output of step "price" does not match its schema: total: ');
      expect(view.error?.context).toMatchObject({ step: "price", instanceId: "c-1", workflow: "checkout" });
      expect(view.steps.map((s) => s.key)).toEqual(["normalize"]);
      expect(calls).toBe(1);
    });
  });

  it("a step input failing its schema fails the run before the task runs", async () => {
    let ran = false;
    const charge = task(
      "charge",
      (p) => {
        ran = true;
        return p.amount;
      },
      { input: z.object({ amount: z.number() }) },
    );
    const wf = flow<number>("pay")
      .then("quote", (n) => ({ amount: n > 0 ? n : "free" }) as { amount: number })
      .then(charge)
      .build();
    await withEngine([wf], async (engine) => {
      await engine.start(wf, 0, { id: "p-1" });
      await expect(engine.result("p-1", { timeout: "5s" })).rejects.toThrow('input of step "charge" does not match its schema: amount: ');
      const view = await engine.status("p-1");
      expect(view.error).toMatchObject({ code: "VALIDATION", step: "charge" });
      expect(view.steps.map((s) => s.key)).toEqual(["quote"]);
      expect(ran).toBe(false);

      await engine.start(wf, 3, { id: "p-2" });
      await expect(engine.result("p-2", { timeout: "5s" })).resolves.toBe(3);
    });
  });

  it("commits and passes on the output schema's output, and hands the task the input schema's output", async () => {
    const seen: unknown[] = [];
    const parse = task("parse", (s: { raw: string }) => s.raw, { output: z.string().transform((s) => s.split(",")) });
    const size = task(
      "size",
      (xs) => {
        seen.push(xs);
        return xs.length;
      },
      { input: z.array(z.string()).transform((xs) => xs.filter((x) => x !== "")) },
    );
    const wf = flow<{ raw: string }>("split").then(parse).then(size).build();
    await withEngine([wf], async (engine) => {
      await engine.start(wf, { raw: "a,,b" }, { id: "s-1" });
      await expect(engine.result("s-1", { timeout: "5s" })).resolves.toBe(2);
      expect((await engine.status("s-1")).steps.find((s) => s.key === "parse")?.output).toEqual(["a", "", "b"]);
    });
    expect(seen).toEqual([["a", "b"]]);
    expect(runSync(wf, { raw: "x,y" })).toBe(2);
    await expect(runAsync(wf, { raw: ",x" })).resolves.toBe(1);
  });

  it("a task in a fork branch is checked under its commit key", async () => {
    // Typed as a string, as a task returning bad data at run time would be.
    const label = task("label", (n: number) => (n > 1 ? "big" : (1 as unknown as string)), { output: z.string() });
    const wf = flow<number>("forked")
      .fork([
        branch("left", label),
        branch(
          "right",
          task("same", (n: number) => n),
        ),
      ])
      .join("merge", (o) => o)
      .build();
    await withEngine([wf], async (engine) => {
      await engine.start(wf, 1, { id: "f-1" });
      await expect(engine.result("f-1", { timeout: "5s" })).rejects.toThrow('output of step "left/label"');
      expect((await engine.status("f-1")).error).toMatchObject({ code: "VALIDATION", step: "left/label" });
    });
  });

  it("runSync validates with synchronous schemas and names an asynchronous one", () => {
    const strict = task("strict", (n: number) => n, { output: z.number().max(3) });
    const wf = flow<number>("sync").then(strict).build();
    expect(runSync(wf, 2)).toBe(2);
    expect(() => runSync(wf, 9)).toThrow('output of step "strict" does not match its schema');

    const lazy = flow<number>("lazy")
      .then(task("later", (n: number) => n, { input: asyncSchema<number>() }))
      .build();
    let error: unknown;
    try {
      runSync(lazy, 1);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UnsupportedStepError);
    expect((error as Error).message).toContain('input of step "later"');
    expect((error as Error).message).toContain("validates asynchronously");

    const lazyInput = flow("lazy-in", { input: asyncSchema<number>() })
      .then("x", (n) => n)
      .build();
    expect(() => runSync(lazyInput, 1)).toThrow(UnsupportedStepError);
  });

  it("asynchronous schemas work on runAsync and durable runs", async () => {
    const wf = flow("async-schemas", { input: asyncSchema<number>() })
      .then(task("twice", (n: number) => n * 2, { input: asyncSchema<number>(), output: asyncSchema<number>() }))
      .build();
    await expect(runAsync(wf, 2)).resolves.toBe(4);
    await withEngine([wf], async (engine) => {
      await engine.start(wf, 3, { id: "a-1" });
      await expect(engine.result("a-1", { timeout: "5s" })).resolves.toBe(6);
    });
  });

  it("anything but a Standard Schema is refused when the task or flow is defined", () => {
    expect(() => task("t", (n: number) => n, { input: { parse: () => 1 } as unknown as StandardSchemaV1<number> })).toThrow(
      'task "t": options.input must be a Standard Schema',
    );
    expect(() => flow("f", { input: null as unknown as StandardSchemaV1 })).toThrow('flow "f": options.input must be a Standard Schema');
  });
});

describe("schemas and the definition hash", () => {
  it("adding, removing or changing a schema keeps workflow.hash: schemas are code, not shape", () => {
    const plain = flow<Order>("h")
      .then(task("a", (o: Order) => o.items.length))
      .fork([
        branch(
          "b",
          task("b", (n: number) => n),
        ),
      ])
      .join("j", (o) => o.b)
      .build();
    const checked = flow("h", { input: Order })
      .then(task("a", (o: Order) => o.items.length, { input: Order, output: z.number() }))
      .fork([
        branch(
          "b",
          task("b", (n: number) => n, { output: z.number().int() }),
        ),
      ])
      .join("j", (o) => o.b)
      .build();
    expect(checked.hash).toBe(plain.hash);
    expect(checked.stepSchemas?.get("a")?.output).toBeDefined();
    expect(checked.stepSchemas?.get("b/b")?.output).toBeDefined();
    expect(plain.stepSchemas?.size).toBe(0);
  });
});
