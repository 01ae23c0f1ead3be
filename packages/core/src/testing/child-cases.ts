/**
 * The behaviour suite's cases for child runs (`.child(id, workflow)`): a run of its own, linked
 * to its parent both ways, whose output the parked parent continues with; its failure fails the
 * parent's step, cancelling the parent cancels it, and a resumed parent never starts a second
 * one. Declared by `describeEngineConformance`, so every store runs them.
 */
import { expect, it } from "vitest";
import { flow } from "../builder/flow.js";
import type { Workflow } from "../builder/workflow.js";
import type { DurableRunnerOptions } from "../engine/memory-engine.js";
import { ChildRunFailedError, isParkwayError, ValidationError } from "../errors.js";
import type { Store } from "../store/types.js";
import { statusWaits, type EngineHarness } from "./harness.js";

/** Declares the child run cases; `harness` is read when each test runs. */
export function childCases(harness: () => EngineHarness): void {
  const engine = (workflows: readonly Workflow<never, unknown>[], options?: DurableRunnerOptions) => harness().create(workflows, options);
  const { until, parked, finished } = statusWaits(harness);

  const approvalChild = (name: string, onRun: () => void = () => {}) =>
    flow<number>(name)
      .then("count", (n) => (onRun(), n))
      .waitForSignal<number>("approval", "approve")
      .then("sum", (bonus, ctx) => ({ total: bonus + 1, by: ctx.instanceId }))
      .build();

  it("a child step starts a run of its own, linked both ways; the parent parks and goes on with its output", async () => {
    const child = approvalChild("child-basic");
    const parent = flow<number>("parent-basic")
      .then("prep", (n) => n * 10)
      .child("kid", child)
      .then("after", (out) => `got ${out.total} from ${out.by}`)
      .build();
    // Registering the parent registers its child: the worker runs both.
    const e = await engine([parent]);
    await e.start(parent, 4, { id: "p/1" });
    const childId = "p%2F1/kid";
    const waiting = await parked(e, "p/1");
    expect(waiting.children).toEqual([{ key: "kid", id: childId }]);
    expect(waiting.waitingFor).toEqual([expect.objectContaining({ kind: "signal", key: "kid", child: childId })]);
    const kid = await parked(e, childId);
    expect(kid.workflow).toBe("child-basic");
    expect(kid.parent).toEqual({ id: "p/1", key: "kid" });
    expect(kid.input).toBe(40);
    await e.signal(childId, "approve", 2);
    expect(await e.result("p/1")).toBe(`got 3 from ${childId}`);
    expect((await e.status(childId)).output).toEqual({ total: 3, by: childId });
    const view = await e.status("p/1");
    expect(view.steps.find((s) => s.key === "kid")?.output).toEqual({
      child: childId,
      status: "completed",
      output: { total: 3, by: childId },
    });
  });

  it("instanceId names the child run from the step's input", async () => {
    const child = flow<{ order: string }>("child-named")
      .then("echo", (o) => o.order.toUpperCase())
      .build();
    const parent = flow<{ order: string }>("parent-named")
      .child("ship", child, { instanceId: (o) => `ship-${o.order}` })
      .build();
    const e = await engine([parent]);
    await e.start(parent, { order: "o7" }, { id: "named-parent" });
    expect(await e.result("named-parent")).toBe("O7");
    const kid = await e.status("ship-o7");
    expect(kid.parent).toEqual({ id: "named-parent", key: "ship" });
    expect((await e.status("named-parent")).children).toEqual([{ key: "ship", id: "ship-o7" }]);
  });

  it("a child that fails fails the parent's step with ChildRunFailedError carrying the child's error; the step is not retried", async () => {
    let childAttempts = 0;
    const child = flow<null>("child-fails")
      .then(
        "boom",
        () => {
          childAttempts++;
          throw new Error("card declined");
        },
        { retry: { maxAttempts: 2, backoff: { initial: 1, factor: 1, max: 1 } } },
      )
      .build();
    const parent = flow<null>("parent-of-failing")
      .child("pay", child)
      .then("never", () => "no")
      .build();
    const e = await engine([parent]);
    await e.start(parent, null, { id: "pf" });
    // Lets the child's retry backoff pass (the memory harness's clock only moves when told).
    for (let i = 0; i < 200 && (await e.status("pf/pay").catch(() => null))?.status !== "failed"; i++) {
      await harness().advance(5);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const view = await finished(e, "pf");
    expect(view.status).toBe("failed");
    expect(view.error).toMatchObject({ code: ChildRunFailedError.code, step: "pay", cause: { message: "card declined" } });
    expect(view.error?.context).toMatchObject({ child: "pf/pay", childStatus: "failed" });
    expect((await e.status("pf/pay")).status).toBe("failed");
    // The child's own retry policy ran; the parent started it once.
    expect(childAttempts).toBe(2);
    await expect(e.result("pf")).rejects.toSatisfy((err: Error) => isParkwayError(err.cause, ChildRunFailedError.code));
  });

  it("cancelling the parent cancels its child; cancelling a child fails its parent's step", async () => {
    const parent = flow<number>("parent-cancel").child("kid", approvalChild("child-cancel")).build();
    const e = await engine([parent]);
    await e.start(parent, 1, { id: "pc" });
    await parked(e, "pc");
    await parked(e, "pc/kid");
    expect((await e.cancel("pc")).status).toBe("cancelled");
    expect((await e.status("pc/kid")).status).toBe("cancelled");

    await e.start(parent, 1, { id: "pc2" });
    await parked(e, "pc2");
    await parked(e, "pc2/kid");
    await e.cancel("pc2/kid");
    const view = await finished(e, "pc2");
    expect(view.status).toBe("failed");
    expect(view.error).toMatchObject({ code: ChildRunFailedError.code, context: { child: "pc2/kid", childStatus: "cancelled" } });
  });

  it("a parent walked again (re-checks, a restart) never starts a second child", async () => {
    let runs = 0;
    const child = approvalChild("child-once", () => runs++);
    const parent = flow<number>("parent-once").child("kid", child).build();
    // A short lease: the restart below may cut the first engine off while it holds the parent.
    const e = await engine([parent], { childRecheck: 20, lease: 300 });
    await e.start(parent, 1, { id: "po" });
    await parked(e, "po");
    await parked(e, "po/kid");
    // Each re-check walks the parent's child step again.
    for (let i = 0; i < 3; i++) {
      const before = (await e.status("po")).version;
      await harness().advance(30);
      await until(e, "po", (v) => v.status === "parked" && v.version > before, "re-checked");
    }
    const again = await harness().reopen(e, [parent], { childRecheck: 20, lease: 300 });
    await harness().advance(30);
    await again.signal("po/kid", "approve", 5);
    expect(await again.result("po")).toEqual({ total: 6, by: "po/kid" });
    expect(runs).toBe(1);
    expect((await again.list({ workflow: "child-once" })).runs.map((r) => r.id)).toEqual(["po/kid"]);
  });

  it("a child started before its parent linked it (a worker died in between) is found again, not started twice", async () => {
    let runs = 0;
    const child = flow<number>("child-prestarted")
      .then("inc", (n) => (runs++, n + 1))
      .build();
    const parent = flow<number>("parent-prestarted").child("kid", child).build();
    const e = await engine([parent]);
    // What a worker that died right after starting the child left: the child, unlinked.
    await e.start(child, 1, { id: "pp/kid" });
    await finished(e, "pp/kid");
    await e.start(parent, 100, { id: "pp" });
    // The child ended before the link: its output is the first input's, and it ran once.
    expect(await e.result("pp")).toBe(2);
    expect(runs).toBe(1);
    expect((await e.status("pp/kid")).parent).toEqual({ id: "pp", key: "kid" });
  });

  it("a lost finish notice is recovered by the parent's re-check timer", async () => {
    const child = approvalChild("child-lost");
    const parent = flow<number>("parent-lost").child("kid", child).build();
    const e = await engine([parent], { childRecheck: 40 });
    // The child's worker "dies" between its finish and the notice: the first notice never lands.
    const store: Store = e.store;
    const send = store.signal.bind(store);
    let dropped = 0;
    store.signal = async (id, name, payload, deliveryId) => {
      if (name.startsWith("#child:") && dropped === 0) {
        dropped++;
        throw new Error("worker died before the notice");
      }
      return send(id, name, payload, deliveryId);
    };
    await e.start(parent, 1, { id: "pl" });
    await parked(e, "pl");
    await parked(e, "pl/kid");
    await e.signal("pl/kid", "approve", 1);
    await finished(e, "pl/kid");
    expect(dropped).toBe(1);
    // Without the notice, only the parent's re-check can let it finish.
    await harness().advance(60);
    expect((await finished(e, "pl")).output).toEqual({ total: 2, by: "pl/kid" });
  });

  it("signal() refuses names and delivery ids starting with '#', which are Parkway's own", async () => {
    const parent = flow<number>("parent-internal").child("kid", approvalChild("child-internal")).build();
    const e = await engine([parent]);
    await e.start(parent, 1, { id: "pi" });
    await parked(e, "pi");
    await expect(e.signal("pi", "#child:kid", { child: "x", status: "completed", output: 1 })).rejects.toBeInstanceOf(ValidationError);
    await expect(e.signal("pi/kid", "approve", 1, { deliveryId: "#child:pi/kid" })).rejects.toBeInstanceOf(ValidationError);
    expect((await e.status("pi")).status).toBe("parked");
  });
}
