/**
 * The behaviour suite's cases for child runs (`.child(id, workflow)`): a run of its own, linked
 * to its parent both ways, whose output the parked parent continues with; its failure fails the
 * parent's step, cancelling the parent cancels it, and a resumed parent never starts a second
 * one. Declared by `describeEngineConformance`, so every store runs them.
 */
import { describe, expect, it } from "vitest";
import { branch, flow } from "../builder/flow.js";
import { task } from "../builder/task.js";
import type { Workflow } from "../builder/workflow.js";
import type { RunView } from "../engine/client.js";
import type { DurableRunnerOptions } from "../engine/memory-engine.js";
import { ChildRunFailedError, isParkwayError, ValidationError } from "../errors.js";
import type { StandardSchemaV1 } from "../schema.js";
import type { Store } from "../store/types.js";
import { statusWaits, type EngineHarness, type EngineUnderTest } from "./harness.js";

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

  /** A task body that returns only when aborted (the run is cancelled or its engine closes). */
  const untilAborted = (signal: AbortSignal) =>
    new Promise<number>((_resolve, reject) => signal.addEventListener("abort", () => reject(signal.reason as Error), { once: true }));

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

  it("a child refused before it exists (a bad instanceId, an input its schema refuses) fails the parent's step; nothing is recorded or started", async () => {
    const positive: StandardSchemaV1<number, number> = {
      "~standard": {
        version: 1,
        vendor: "parkway-test",
        validate: (value) => (typeof value === "number" && value > 0 ? { value } : { issues: [{ message: "must be positive" }] }),
      },
    };
    const child = flow("child-refused", { input: positive })
      .then("echo", (n) => n)
      .build();
    const badInput = flow<number>("parent-bad-input").child("kid", child).build();
    const badId = flow<number>("parent-bad-id")
      .child("kid", child, { instanceId: () => "" })
      .build();
    const e = await engine([badInput, badId]);
    await e.start(badInput, -1, { id: "refused-input" });
    await e.start(badId, 1, { id: "refused-id" });
    for (const id of ["refused-input", "refused-id"]) {
      const view = await finished(e, id);
      expect(view.status).toBe("failed");
      expect(view.error?.code).toBe(ValidationError.code);
      expect(view.children).toEqual([]);
    }
    expect((await e.list({ workflow: "child-refused" })).runs).toEqual([]);
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

  describe("cancelling a parent cancels its child, wherever the cancel finds the parent", () => {
    /** A parent whose child runs while the parent is still busy in another branch (until aborted). */
    const busyParent = (name: string) =>
      flow<number>(name)
        .fork([
          branch(
            "side",
            flow<number>(`${name}-side`)
              .child("kid", approvalChild(`${name}-child`))
              .build(),
          ),
          branch(
            "busy",
            task("hold", (_: number, ctx) => untilAborted(ctx.signal)),
          ),
        ])
        .join("both", (o) => o)
        .build();

    it("running another step: the parent stops at that step's boundary and cancels its child", async () => {
      const parent = busyParent("parent-cancel-running");
      const e = await engine([parent]);
      await e.start(parent, 1, { id: "pr" });
      await until(e, "pr", (v) => v.status === "running" && v.children.length === 1, "running with its child started");
      await parked(e, "pr/side/kid");
      expect((await e.cancel("pr")).immediate).toBe(false);
      expect((await finished(e, "pr")).status).toBe("cancelled");
      expect((await finished(e, "pr/side/kid")).status).toBe("cancelled");
    });

    it("running on a worker that died: the cancel applies when the run is taken over, and cancels its child", async () => {
      const parent = busyParent("parent-cancel-orphaned");
      const e = await engine([parent], { lease: 50 });
      await e.start(parent, 1, { id: "pd" });
      await until(e, "pd", (v) => v.status === "running" && v.children.length === 1, "running with its child started");
      await parked(e, "pd/side/kid");
      // The worker holding the parent dies; the cancel finds the run still leased to it.
      const next = await harness().reopen(e, [parent], { lease: 50 });
      expect((await next.cancel("pd")).immediate).toBe(false);
      await harness().advance(80);
      expect((await finished(next, "pd")).status).toBe("cancelled");
      expect((await finished(next, "pd/side/kid")).status).toBe("cancelled");
    });

    it("queued when the cancel was asked, parked on its child when it landed: the child is cancelled", async () => {
      const parent = flow<number>("parent-cancel-queued")
        .waitForSignal<number>("go", "go")
        .child("kid", approvalChild("child-cancel-queued"))
        .build();
      const e = await engine([parent]);
      await e.start(parent, 1, { id: "pq" });
      await parked(e, "pq");
      // Between the client's first look at the parent and its cancel, the parent goes on and starts its child.
      const store: Store = e.store;
      const cancel = store.cancel.bind(store);
      store.cancel = async (id) => {
        if (id === "pq") {
          await e.signal("pq", "go", 2);
          await until(e, "pq", (v) => v.status === "parked" && v.waitingFor.some((w) => "child" in w), "parked on its child");
        }
        return cancel(id);
      };
      expect(await e.cancel("pq")).toMatchObject({ status: "cancelled", immediate: true });
      expect((await finished(e, "pq/kid")).status).toBe("cancelled");
    });

    it("paused: the cancel is immediate and cancels its child", async () => {
      const parent = flow<number>("parent-cancel-paused").child("kid", approvalChild("child-cancel-paused")).build();
      const e = await engine([parent]);
      await e.start(parent, 1, { id: "pz" });
      await parked(e, "pz");
      await parked(e, "pz/kid");
      expect((await e.pause("pz")).status).toBe("paused");
      expect(await e.cancel("pz")).toMatchObject({ status: "cancelled", immediate: true });
      expect((await e.status("pz/kid")).status).toBe("cancelled");
    });
  });

  describe("a parent that ends leaves no child running on its behalf", () => {
    it("failed by another branch while its child ran: the child is cancelled", async () => {
      let fail!: () => void;
      const failing = new Promise<void>((resolve) => (fail = resolve));
      const parent = flow<number>("parent-fails-beside-child")
        .fork([
          branch("side", flow<number>("parent-fails-beside-child-side").child("kid", approvalChild("child-beside-failure")).build()),
          branch(
            "doomed",
            task(
              "give-up",
              async () => {
                await failing;
                throw new Error("out of stock");
              },
              { retry: { maxAttempts: 1 } },
            ),
          ),
        ])
        .join("both", (o) => o)
        .build();
      const e = await engine([parent]);
      await e.start(parent, 1, { id: "pfb" });
      await until(e, "pfb", (v) => v.children.length === 1, "its child started");
      await parked(e, "pfb/side/kid");
      fail();
      const view = await finished(e, "pfb");
      expect(view.status).toBe("failed");
      expect(view.error?.message).toContain("out of stock");
      expect((await finished(e, "pfb/side/kid")).status).toBe("cancelled");
    });

    it("completed past a race whose losing branch had started a child: the child is cancelled; a child that finished is left as it is", async () => {
      const parent = flow<number>("parent-race-child")
        .child("first", approvalChild("child-before-race"))
        .then("total", (out) => out.total)
        .race("pick", [
          branch("kid", flow<number>("parent-race-child-kid").child("slow", approvalChild("child-in-race")).build()),
          branch("stop", flow<number>("parent-race-child-stop").waitForSignal<string>("now", "stop").build()),
        ])
        .then("after", (r) => r.winner)
        .build();
      const e = await engine([parent]);
      await e.start(parent, 1, { id: "prc" });
      await parked(e, "prc");
      await parked(e, "prc/first");
      await e.signal("prc/first", "approve", 1);
      await until(e, "prc", (v) => v.children.length === 2, "its race's child started");
      await parked(e, "prc/kid/slow");
      await e.signal("prc", "stop", "enough");
      expect(await e.result("prc")).toBe("stop");
      expect((await finished(e, "prc/kid/slow")).status).toBe("cancelled");
      expect((await e.status("prc/first")).status).toBe("completed");
    });
  });

  describe("a cancelled child fails its parent's step with ChildRunFailedError, wherever the cancel finds the child", () => {
    const heldChild = (name: string) =>
      flow<number>(name)
        .then("hold", (_: number, ctx) => untilAborted(ctx.signal))
        .build();
    const failedOnCancelledChild = (view: RunView, child: string) => {
      expect(view.status).toBe("failed");
      expect(view.error).toMatchObject({
        code: ChildRunFailedError.code,
        step: "kid",
        context: { child, childStatus: "cancelled" },
        cause: { code: "CANCELLED" },
      });
      expect(view.error?.message).toContain(`child run "${child}" of step "kid" was cancelled`);
    };

    it("running: the child stops at its step's boundary and its parent fails at once", async () => {
      const parent = flow<number>("parent-of-running").child("kid", heldChild("child-running")).build();
      const e = await engine([parent]);
      await e.start(parent, 1, { id: "cr" });
      await parked(e, "cr");
      await until(e, "cr/kid", (v) => v.status === "running", "running");
      expect((await e.cancel("cr/kid")).immediate).toBe(false);
      failedOnCancelledChild(await finished(e, "cr"), "cr/kid");
      await expect(e.result("cr")).rejects.toSatisfy((err: Error) => isParkwayError(err.cause, ChildRunFailedError.code));
    });

    it("running on a worker that died: the cancel applies when the child is taken over, and its parent fails at once", async () => {
      // No re-check comes in this test (childRecheck is a minute): only the child's notice can fail the parent.
      const parent = flow<number>("parent-of-orphaned").child("kid", heldChild("child-orphaned")).build();
      const e = await engine([parent], { lease: 50 });
      await e.start(parent, 1, { id: "co" });
      await parked(e, "co");
      await until(e, "co/kid", (v) => v.status === "running", "running");
      const next = await harness().reopen(e, [parent], { lease: 50 });
      expect((await next.cancel("co/kid")).immediate).toBe(false);
      await harness().advance(80);
      expect((await finished(next, "co/kid")).status).toBe("cancelled");
      failedOnCancelledChild(await finished(next, "co"), "co/kid");
    });

    it("while its parent is busy in another branch: the parent fails once that branch settles", async () => {
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const parent = flow<number>("parent-busy")
        .fork([
          branch("side", flow<number>("parent-busy-side").child("kid", approvalChild("child-of-busy")).build()),
          branch(
            "busy",
            task("hold", () => gate.then(() => 1)),
          ),
        ])
        .join("both", (o) => o)
        .build();
      const e = await engine([parent]);
      await e.start(parent, 1, { id: "cb" });
      await until(e, "cb", (v) => v.status === "running" && v.children.length === 1, "running with its child started");
      await parked(e, "cb/side/kid");
      expect(await e.cancel("cb/side/kid")).toMatchObject({ status: "cancelled", immediate: true });
      release();
      const view = await finished(e, "cb");
      expect(view.status).toBe("failed");
      expect(view.error).toMatchObject({ code: ChildRunFailedError.code, step: "side/kid", context: { childStatus: "cancelled" } });
    });
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

  it("a run of the child's workflow already under the child's id, with no parent, is adopted, not started again", async () => {
    let runs = 0;
    const child = flow<number>("child-prestarted")
      .then("inc", (n) => (runs++, n + 1))
      .build();
    const parent = flow<number>("parent-prestarted").child("kid", child).build();
    const e = await engine([parent]);
    await e.start(child, 1, { id: "pp/kid" });
    await finished(e, "pp/kid");
    await e.start(parent, 100, { id: "pp" });
    // The child ended before the link: its output is the first input's, and it ran once.
    expect(await e.result("pp")).toBe(2);
    expect(runs).toBe(1);
    expect((await e.status("pp/kid")).parent).toEqual({ id: "pp", key: "kid" });
  });

  describe("a worker that dies while its parent run starts a child", () => {
    /**
     * The parent's worker "dies" at its first start of run `childId`: before the start is sent, or
     * right after it landed. The run stays leased to the dead worker until its lease lapses.
     */
    const dieAtChildStart = (e: EngineUnderTest, childId: string, when: "before" | "after") => {
      const store: Store = e.store;
      const start = store.start.bind(store);
      let died = false;
      store.start = async (run) => {
        if (run.id !== childId || died) return start(run);
        died = true;
        if (when === "after") await start(run);
        throw new Error(`the worker died ${when} starting child run "${childId}"`);
      };
      return { died: () => died };
    };
    const lease = { lease: 50 };

    it("after recording the child, before starting it: the parent taken over starts it, once, and finishes with its output", async () => {
      let runs = 0;
      const parent = flow<number>("parent-died-recording")
        .child(
          "kid",
          approvalChild("child-died-recording", () => runs++),
        )
        .build();
      const e = await engine([parent], lease);
      const worker = dieAtChildStart(e, "dr/kid", "before");
      await e.start(parent, 1, { id: "dr" });
      await until(e, "dr", (v) => v.children.length === 1 && worker.died(), "recorded its child, and its worker died");
      await expect(e.status("dr/kid")).rejects.toMatchObject({ code: "UNKNOWN_INSTANCE" });
      await harness().advance(80);
      await until(e, "dr", (v) => v.status === "parked" && v.waitingFor.some((w) => "child" in w), "parked on its child");
      await e.signal("dr/kid", "approve", 1);
      expect(await e.result("dr")).toEqual({ total: 2, by: "dr/kid" });
      expect(runs).toBe(1);
      expect((await e.list({ workflow: "child-died-recording" })).runs.map((r) => r.id)).toEqual(["dr/kid"]);
    });

    it("after recording the child, before starting it: a cancel of the parent, applied when it is taken over, leaves no child", async () => {
      const parent = flow<number>("parent-died-cancelled").child("kid", approvalChild("child-died-cancelled")).build();
      const e = await engine([parent], lease);
      const worker = dieAtChildStart(e, "dc/kid", "before");
      await e.start(parent, 1, { id: "dc" });
      await until(e, "dc", () => worker.died(), "its worker died");
      expect((await e.cancel("dc")).immediate).toBe(false);
      await harness().advance(80);
      expect((await finished(e, "dc")).status).toBe("cancelled");
      expect((await e.list({ workflow: "child-died-cancelled" })).runs).toEqual([]);
    });

    it("right after starting the child: a cancel of the parent, applied when it is taken over, cancels the child", async () => {
      const parent = flow<number>("parent-died-starting").child("kid", approvalChild("child-died-starting")).build();
      const e = await engine([parent], lease);
      const worker = dieAtChildStart(e, "ds/kid", "after");
      await e.start(parent, 1, { id: "ds" });
      await until(e, "ds", () => worker.died(), "its worker died");
      // Created linked to its parent: a child never exists out of its parent's reach.
      expect((await e.status("ds/kid")).parent).toEqual({ id: "ds", key: "kid" });
      expect((await e.cancel("ds")).immediate).toBe(false);
      await harness().advance(80);
      expect((await finished(e, "ds")).status).toBe("cancelled");
      expect((await finished(e, "ds/kid")).status).toBe("cancelled");
    });

    it("before starting a child whose id a run of someone else's has: the parent's cancel leaves that run alone", async () => {
      const other = approvalChild("not-a-child");
      const parent = flow<number>("parent-died-foreign")
        .child("kid", approvalChild("child-died-foreign"), { instanceId: () => "taken" })
        .build();
      const e = await engine([parent, other], lease);
      await e.start(other, 1, { id: "taken" });
      await parked(e, "taken");
      const worker = dieAtChildStart(e, "taken", "before");
      await e.start(parent, 1, { id: "df" });
      await until(e, "df", () => worker.died(), "its worker died");
      expect((await e.status("df")).children).toEqual([{ key: "kid", id: "taken" }]);
      await e.cancel("df");
      await harness().advance(80);
      expect((await finished(e, "df")).status).toBe("cancelled");
      expect(await e.status("taken")).toMatchObject({ status: "parked", parent: null });
    });
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
    // The notice is sent after the child's finish is written: wait for both.
    await until(e, "pl/kid", (v) => v.status === "completed" && dropped === 1, "completed, its notice lost");
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
