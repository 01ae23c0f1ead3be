/**
 * The behaviour suite every store must pass, run through the client API of an
 * embedded engine. `@parkway/core` runs it on the memory store; `@parkway/redis`
 * runs the very same tests on a real Redis. Durations are short (tens of
 * milliseconds) so a harness on real time stays fast; the memory harness uses
 * a fake clock.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { branch, flow, LoopResult } from "../builder/flow.js";
import { task } from "../builder/task.js";
import type { Workflow } from "../builder/workflow.js";
import type { DurableRunnerOptions } from "../engine/memory-engine.js";
import { isParkwayError, LoopLimitError, MapLimitError, RunTimeoutError } from "../errors.js";
import { codecDifference, codecRefusals, codecRoundTrips } from "./codec-cases.js";
import { childCases } from "./child-cases.js";
import { flowControlCases } from "./flow-control-cases.js";
import { listCases } from "./list-cases.js";
import { signalCases } from "./signal-cases.js";
import { startCases } from "./start-cases.js";
import { scheduleCases } from "./schedule-cases.js";
import { historyCases } from "./history-cases.js";
import { statusWaits, type EngineHarness } from "./harness.js";
import { describeLifecycleBehaviour } from "./lifecycle.js";
import { nodeKindNestings, nodeKindPairs } from "./node-kinds.js";

/** Declares the behaviour suite for the engine a harness makes. */
export function describeEngineConformance(name: string, makeHarness: () => EngineHarness | Promise<EngineHarness>): void {
  describe(`durable behaviour: ${name}`, () => {
    let h: EngineHarness;
    beforeEach(async () => {
      h = await makeHarness();
    });
    afterEach(async () => {
      await h.cleanup();
    });

    const engine = (workflows: readonly Workflow<never, unknown>[], options?: DurableRunnerOptions) => h.create(workflows, options);

    const { until, parked, finished } = statusWaits(() => h);

    it("a delay right after a task parks, then resumes when it passes", async () => {
      const wf = flow<number>("delay-after-task")
        .then("double", (n) => n * 2)
        .delay("wait", 40)
        .then("inc", (n) => n + 1)
        .build();
      const e = await engine([wf]);
      await e.start(wf, 5, { id: "d1" });
      const view = await parked(e, "d1");
      expect(view.waitingFor).toEqual([expect.objectContaining({ kind: "timer", key: "wait", reason: "delay" })]);
      expect(view.steps.map((s) => s.key)).toEqual(["double"]);
      await h.advance(60);
      expect((await finished(e, "d1")).output).toBe(11);
    });

    it("a signal right after a task parks, then resumes when the signal comes", async () => {
      const wf = flow<number>("signal-after-task")
        .then("double", (n) => n * 2)
        .waitForSignal<number>("approval", "approved")
        .then("sum", (n) => n + 100)
        .build();
      const e = await engine([wf]);
      await e.start(wf, 5, { id: "s1" });
      expect((await parked(e, "s1")).waitingFor).toEqual([{ kind: "signal", key: "approval", signal: "approved", timeoutAt: null }]);
      await e.signal("s1", "approved", 7);
      expect(await e.result("s1")).toBe(107);
    });

    it("a signal sent before the run reaches its wait is kept until it gets there", async () => {
      const wf = flow<string>("early-signal")
        .delay("first", 40)
        .waitForSignal<string>("approval", "go")
        .then("echo", (s) => `got ${s}`)
        .build();
      const e = await engine([wf]);
      await e.start(wf, "x", { id: "early" });
      await parked(e, "early");
      await e.signal("early", "go", "yes");
      await h.advance(60);
      expect((await finished(e, "early")).output).toBe("got yes");
    });

    it("two signals of one name are consumed by two waits, first in first out", async () => {
      const wf = flow<null>("two-waits")
        .waitForSignal<string>("first", "item")
        .then("keep", (a) => [a])
        .waitForSignal<string>("second", "item")
        .build();
      const both = flow<null>("two-waits-both")
        .waitForSignal<string>("first", "item")
        .then("hold", (a) => a)
        .fork([
          branch(
            "b",
            task("next", (a: string) => a),
          ),
        ])
        .join("j", (o) => o.b)
        .build();
      const e = await engine([wf, both]);
      await e.start(wf, null, { id: "fifo" });
      await e.signal("fifo", "item", "A");
      await e.signal("fifo", "item", "B");
      const view = await finished(e, "fifo");
      expect(view.steps.find((s) => s.key === "first")?.output).toBe("A");
      expect(view.output).toBe("B");
    });

    it("a timeout that passes first wins; the late signal stays buffered for the next wait", async () => {
      const wf = flow<null>("timeout-first")
        .waitForSignal<string>("maybe", "ping", { timeout: 30, onTimeout: "timed-out" })
        .then("note", (v) => v)
        .waitForSignal<string>("later", "ping")
        .then("pair", (later) => later)
        .build();
      const e = await engine([wf]);
      await e.start(wf, null, { id: "race-t" });
      await parked(e, "race-t");
      await h.advance(50);
      await until(e, "race-t", (v) => v.steps.some((s) => s.key === "maybe"), "past its timeout");
      await e.signal("race-t", "ping", "late");
      const view = await finished(e, "race-t");
      expect(view.steps.find((s) => s.key === "maybe")?.output).toBe("timed-out");
      expect(view.output).toBe("late");
    });

    it("a signal that comes first wins; its wait's timeout later changes nothing", async () => {
      const wf = flow<null>("signal-first")
        .waitForSignal<string>("maybe", "ping", { timeout: 30, onTimeout: "timed-out" })
        .delay("after", 100)
        .build();
      const e = await engine([wf]);
      await e.start(wf, null, { id: "race-s" });
      await parked(e, "race-s");
      await e.signal("race-s", "ping", "first");
      await until(e, "race-s", (v) => v.steps.some((s) => s.key === "maybe"), "signalled");
      await h.advance(150);
      const view = await finished(e, "race-s");
      expect(view.status).toBe("completed");
      expect(view.steps.find((s) => s.key === "maybe")?.output).toBe("first");
    });

    it("a signal racing its timeout: exactly one wins and the other is not lost", async () => {
      const wf = flow<null>("race")
        .waitForSignal<string>("maybe", "ping", { timeout: 30, onTimeout: "timed-out" })
        .waitForSignal<string>("rest", "ping", { timeout: 30, onTimeout: "none-left" })
        .build();
      const e = await engine([wf]);
      await e.start(wf, null, { id: "race" });
      await parked(e, "race");
      await Promise.all([h.advance(40), e.signal("race", "ping", "sig")]);
      await h.advance(40);
      const view = await finished(e, "race");
      const first = view.steps.find((s) => s.key === "maybe")?.output;
      const second = view.steps.find((s) => s.key === "rest")?.output;
      expect([first, second].filter((v) => v === "sig")).toHaveLength(1);
      expect(first === "sig" ? second : first).toMatch(/timed-out|none-left/);
    });

    it("a signal wait that times out without a fallback fails the run with SignalTimeoutError", async () => {
      const wf = flow<null>("strict-wait").waitForSignal("approval", "approved", { timeout: 30 }).build();
      const e = await engine([wf]);
      await e.start(wf, null, { id: "strict" });
      await parked(e, "strict");
      await h.advance(50);
      const view = await finished(e, "strict");
      expect(view.status).toBe("failed");
      expect(view.error?.code).toBe("SIGNAL_TIMEOUT");
      await expect(e.result("strict")).rejects.toMatchObject({ code: "RUN_FAILED" });
    });

    it("a delay in one fork branch does not hold the other branch back", async () => {
      const wf = flow<number>("fork-delay")
        .fork([
          branch(
            "slow",
            flow<number>("slow")
              .delay("nap", 50)
              .then("late", (n) => n + 1)
              .build(),
          ),
          branch(
            "fast",
            flow<number>("fast")
              .then("one", (n) => n * 10)
              .then("two", (n) => n + 5)
              .build(),
          ),
        ])
        .join("merge", (o) => o.slow + o.fast)
        .build();
      const e = await engine([wf]);
      await e.start(wf, 1, { id: "fd" });
      const view = await parked(e, "fd");
      expect(view.steps.map((s) => s.key).sort()).toEqual(["fast/one", "fast/two"]);
      expect(view.waitingFor).toEqual([expect.objectContaining({ key: "slow/nap" })]);
      await h.advance(70);
      expect((await finished(e, "fd")).output).toBe(2 + 15);
    });

    it("a parked run is cancelled at once and never runs another step", async () => {
      let shipped = 0;
      const wf = flow<null>("cancel-parked")
        .delay("wait", 40)
        .then("ship", () => ++shipped)
        .build();
      const e = await engine([wf]);
      await e.start(wf, null, { id: "c1" });
      await parked(e, "c1");
      expect(await e.cancel("c1")).toMatchObject({ status: "cancelled", immediate: true });
      await h.advance(60);
      await e.idle();
      expect((await e.status("c1")).status).toBe("cancelled");
      expect(shipped).toBe(0);
      await expect(e.result("c1")).rejects.toMatchObject({ code: "CANCELLED" });
      await expect(e.signal("c1", "x")).rejects.toMatchObject({ code: "RUN_FINISHED" });
    });

    it("a running run is cancelled at its next step boundary", async () => {
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let after = 0;
      const wf = flow<null>("cancel-running")
        .then("hold", async () => {
          await gate;
          return 1;
        })
        .then("after", () => ++after)
        .build();
      const e = await engine([wf]);
      await e.start(wf, null, { id: "c2" });
      await until(e, "c2", (v) => v.status === "running", "running");
      expect((await e.cancel("c2")).immediate).toBe(false);
      release();
      const view = await finished(e, "c2");
      expect(view.status).toBe("cancelled");
      expect(after).toBe(0);
    });

    it("cancelling a running run aborts its task's ctx.signal; the run ends cancelled and the task's output is dropped", async () => {
      let aborted: unknown = null;
      let after = 0;
      const wf = flow<null>("cancel-aborts")
        .then("hold", (_: null, ctx) => {
          // Rejects only when aborted: without the abort this run would hold for ever.
          return new Promise<number>((_resolve, reject) =>
            ctx.signal.addEventListener("abort", () => ((aborted = ctx.signal.reason), reject(ctx.signal.reason as Error))),
          );
        })
        .then("after", () => ++after)
        .build();
      const e = await engine([wf]);
      await e.start(wf, null, { id: "ca1" });
      await until(e, "ca1", (v) => v.status === "running", "running");
      await e.cancel("ca1");
      const view = await finished(e, "ca1");
      expect(view.status).toBe("cancelled");
      expect(aborted).toMatchObject({ code: "CANCELLED" });
      expect(view.steps).toEqual([]);
      expect(after).toBe(0);
    });

    it("a task that ignores its abort does not keep a cancelled run running; its late result is never committed", async () => {
      let finish!: (n: number) => void;
      let after = 0;
      const wf = flow<null>("cancel-ignored")
        .then("stubborn", () => new Promise<number>((resolve) => (finish = resolve)))
        .then("after", () => ++after)
        .build();
      const e = await engine([wf]);
      await e.start(wf, null, { id: "ca2" });
      await until(e, "ca2", (v) => v.status === "running", "running");
      await e.cancel("ca2");
      expect((await finished(e, "ca2")).status).toBe("cancelled");
      finish(7);
      await e.idle();
      const view = await e.status("ca2");
      expect(view.status).toBe("cancelled");
      expect(view.steps).toEqual([]);
      expect(after).toBe(0);
    });

    it("close() releases a run at its step boundary within the shutdown grace, even when a task ignores its abort", async () => {
      const calls = { first: 0, stubborn: 0, last: 0 };
      let lateFinish!: (n: number) => void;
      const wf = flow<null>("close-releases")
        .then("first", () => ++calls.first)
        .then("stubborn", () =>
          ++calls.stubborn === 1 ? new Promise<number>((resolve) => (lateFinish = resolve)) : Promise.resolve(calls.stubborn),
        )
        .then("last", (n) => (++calls.last, n * 10))
        .build();
      const e = await engine([wf], { shutdownGrace: 20 });
      await e.start(wf, null, { id: "cl1" });
      await until(e, "cl1", (v) => v.status === "running" && calls.stubborn === 1, "running its stubborn step");
      const closing = e.close();
      await h.advance(40); // past the grace: the stubborn task is aborted and not waited for
      await closing;
      lateFinish(1); // its late result goes nowhere
      const next = await h.reopen(e, [wf]);
      const view = await finished(next, "cl1");
      expect(view.status).toBe("completed");
      expect(view.output).toBe(20);
      expect(calls).toEqual({ first: 1, stubborn: 2, last: 1 });
    });

    it("pause, a signal while paused, then resume: the run goes on with the signal", async () => {
      const wf = flow<null>("pause-signal")
        .waitForSignal<string>("approval", "approved")
        .then("echo", (s) => `ok ${s}`)
        .build();
      const e = await engine([wf]);
      await e.start(wf, null, { id: "p1" });
      await parked(e, "p1");
      expect(await e.pause("p1")).toMatchObject({ status: "paused", immediate: true });
      await e.signal("p1", "approved", "ana");
      await e.idle();
      expect((await e.status("p1")).status).toBe("paused");
      await e.resume("p1");
      expect(await e.result("p1")).toBe("ok ana");
    });

    it("a restarted engine finishes a run from a copy of its store without re-running committed steps", async () => {
      const ran: string[] = [];
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const build = (hold: boolean) =>
        flow<number>("crash")
          .then("one", (n) => {
            ran.push("one");
            return n + 1;
          })
          .then("two", async (n) => {
            ran.push("two");
            if (hold) await gate;
            return n + 1;
          })
          .then("three", (n) => {
            ran.push("three");
            return n * 10;
          })
          .build();
      const first = await engine([build(true)], { lease: 50 });
      await first.start(build(true), 1, { id: "crash" });
      await until(first, "crash", (v) => v.steps.length === 1 && ran.includes("two"), "stuck in step two");
      const second = await h.reopen(first, [build(false)], { lease: 50 });
      await h.advance(80);
      expect((await finished(second, "crash")).output).toBe(30);
      expect(ran.filter((r) => r === "one")).toHaveLength(1);
      release();
      await new Promise((resolve) => setTimeout(resolve, 20));
      const view = await second.status("crash");
      expect(view.status).toBe("completed");
      expect(view.steps.map((s) => s.key)).toEqual(["one", "two", "three"]);
    });

    it("starting the same id twice returns the first run and starts nothing more", async () => {
      let runs = 0;
      const wf = flow<number>("once")
        .then("count", (n) => {
          runs++;
          return n;
        })
        .build();
      const e = await engine([wf]);
      const a = await e.start(wf, 1, { id: "same" });
      const b = await e.start(wf, 2, { id: "same" });
      expect([a.created, b.created]).toEqual([true, false]);
      expect(await e.result("same")).toBe(1);
      expect(runs).toBe(1);
    });

    it("a route's committed key decides the branch of a resumed run", async () => {
      let size: "small" | "large" = "small";
      const wf = flow<null>("route-commit")
        .route("by-size", () => size, ["small", "large"] as const)
        .branch(
          "small",
          task("s", () => "small-branch"),
        )
        .branch(
          "large",
          task("l", () => "large-branch"),
        )
        .done()
        .delay("wait", 30)
        .build();
      const wfAfter = flow<null>("route-commit-2")
        .then("x", () => size)
        .build();
      const e = await engine([wf, wfAfter]);
      await e.start(wf, null, { id: "route" });
      await parked(e, "route");
      size = "large";
      const again = await h.reopen(e, [wf]);
      await h.advance(50);
      const view = await finished(again, "route");
      expect(view.steps.find((s) => s.key === "by-size")?.output).toBe("small");
      expect(view.output).toBe("small-branch");
    });

    it("loop iterations commit one by one, only the last is kept, and a resumed loop does not repeat them", async () => {
      const ran: number[] = [];
      const wf = flow<number>("loop-commit")
        .loop(
          "count",
          (n) => {
            ran.push(n);
            return n >= 3 ? LoopResult.done(n) : LoopResult.again(n + 1);
          },
          { maxIterations: 5 },
        )
        .delay("wait", 20)
        .build();
      const e = await engine([wf]);
      await e.start(wf, 1, { id: "loop" });
      const view = await parked(e, "loop");
      expect(view.steps.map((s) => s.key)).toEqual(["count#3"]);
      await h.advance(40);
      expect((await finished(e, "loop")).output).toBe(3);
      expect(ran).toEqual([1, 2, 3]);
    });

    it("a retry whose backoff is long parks the run and resumes at the next attempt", async () => {
      const attempts: number[] = [];
      const wf = flow<null>("retry-park")
        .then(
          "flaky",
          (_, ctx) => {
            attempts.push(ctx.attempt);
            if (ctx.attempt < 3) throw new Error("not yet");
            return "ok";
          },
          {
            // Long enough that a loaded machine still sees the run parked between attempts on real time.
            retry: { maxAttempts: 3, backoff: { initial: 500, factor: 1 } },
          },
        )
        .build();
      const e = await engine([wf], { holdRetriesUpTo: 10 });
      await e.start(wf, null, { id: "retry" });
      const view = await parked(e, "retry");
      expect(view.waitingFor).toEqual([expect.objectContaining({ kind: "timer", key: "flaky", reason: "retry" })]);
      await h.advance(510);
      await until(e, "retry", (v) => attempts.length === 2 && v.status === "parked", "parked after attempt 2");
      // The second park waits its own backoff: attempt 3 has not run yet.
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(attempts).toEqual([1, 2]);
      await h.advance(510);
      const done = await finished(e, "retry");
      expect(done.output).toBe("ok");
      expect(attempts).toEqual([1, 2, 3]);
      expect(done.steps[0]?.attempts).toBe(3);
    });

    it("idempotency keys never collide: a '/' or '%' in the instance id is escaped, the commit key follows the first '/'", async () => {
      const keys = new Map<string, string>();
      const record = (_: unknown, ctx: { instanceId: string; stepId: string; idempotencyKey: string }) => {
        keys.set(`${ctx.instanceId} ${ctx.stepId}`, ctx.idempotencyKey);
        return 1;
      };
      const nested = flow<null>("idem-nested").thenFlow(flow<null>("charge").then("card", record).build()).build();
      const flat = flow<null>("idem-flat").then("card", record).build();
      const e = await engine([nested, flat]);
      await e.start(nested, null, { id: "order-7" });
      await e.start(flat, null, { id: "order-7/charge" });
      await e.start(flat, null, { id: "order-7%2Fcharge" });
      for (const id of ["order-7", "order-7/charge", "order-7%2Fcharge"]) await finished(e, id);
      expect(Object.fromEntries(keys)).toEqual({
        "order-7 charge/card": "order-7/charge/card",
        "order-7/charge card": "order-7%2Fcharge/card",
        "order-7%2Fcharge card": "order-7%252Fcharge/card",
      });
    });

    it("tasks see the instance id and an idempotency key stable per step", async () => {
      const seen: string[] = [];
      const wf = flow<null>("ids")
        .then(
          "a",
          (_, ctx) => {
            seen.push(`${ctx.instanceId} ${ctx.stepId} ${ctx.idempotencyKey}`);
            if (ctx.attempt === 1) throw new Error("again");
            return 1;
          },
          {
            retry: { maxAttempts: 2, backoff: { initial: 1 } },
          },
        )
        .build();
      const e = await engine([wf]);
      await e.start(wf, null, { id: "ids-1" });
      await until(e, "ids-1", () => seen.length >= 1, "tried once");
      await h.advance(5);
      await finished(e, "ids-1");
      expect(seen).toHaveLength(2);
      expect(seen[0]).toBe(seen[1]);
      expect(seen[0]).toMatch(/^ids-1 a \S*ids-1\S*a$/);
    });

    it("a run whose definition changed stays parked with DefinitionMismatchError, and finishes once the old one is back", async () => {
      const v1 = flow<null>("versioned")
        .waitForSignal<string>("approval", "approved")
        .then("done", (s) => `v1 ${s}`)
        .build();
      const v2 = flow<null>("versioned")
        .waitForSignal<string>("approval", "approved")
        .then("done2", (s) => `v2 ${s}`)
        .build();
      const first = await engine([v1]);
      await first.start(v1, null, { id: "ver" });
      await parked(first, "ver");
      await first.close();
      const second = await h.reopen(first, [v2], { blockedRetry: 30 });
      await second.signal("ver", "approved", "ana");
      const blocked = await until(second, "ver", (v) => v.error !== null, "blocked");
      expect(blocked.status).toBe("parked");
      expect(blocked.error?.code).toBe("DEFINITION_MISMATCH");
      await second.close();
      const third = await h.reopen(second, [v2, v1], { blockedRetry: 30 });
      await h.advance(50);
      expect((await finished(third, "ver")).output).toBe("v1 ana");
    });

    it("a failing task fails the run; result() rejects with its cause", async () => {
      const wf = flow<null>("fails")
        .then("boom", () => {
          throw new Error("no stock");
        })
        .build();
      const e = await engine([wf]);
      await e.start(wf, null, { id: "f1" });
      const err = await e.result("f1").catch((x: unknown) => x);
      expect(isParkwayError(err, "RUN_FAILED")).toBe(true);
      expect((err as Error & { cause: Error }).cause.message).toBe("no stock");
      expect((await e.status("f1")).error?.message).toBe("no stock");
    });

    describe("compensation", () => {
      /** A saga: reserve and charge commit, ship fails; each compensation writes to `undone`. */
      const saga = (undone: string[], options: { holdReserve?: Promise<void>; chargeFails?: boolean } = {}) =>
        flow<number>("saga")
          .then(
            task("reserve", (n: number) => n + 1, {
              compensate: async (output, ctx) => {
                undone.push(`reserve:${output}:${ctx.stepId}:start`);
                if (options.holdReserve) await options.holdReserve;
                undone.push(`reserve:${output}`);
              },
            }),
          )
          .then("note", (n) => n)
          .then(
            task("charge", (n: number) => n * 10, {
              retry: { maxAttempts: 2, backoff: { initial: 1 } },
              compensate: (output) => {
                if (options.chargeFails) throw new Error("refund refused");
                undone.push(`charge:${output}`);
              },
            }),
          )
          .then("ship", () => {
            throw new Error("no truck");
          })
          .build();

      it("a failed run undoes its committed steps once each, in reverse commit order, then fails with its own error", async () => {
        const undone: string[] = [];
        const wf = saga(undone);
        const e = await engine([wf]);
        await e.start(wf, 1, { id: "saga-1" });
        const view = await finished(e, "saga-1");
        expect(view.status).toBe("failed");
        expect(view.error?.message).toBe("no truck");
        expect(view.error?.step).toBe("ship");
        expect(view.error?.compensations).toBeUndefined();
        expect(undone).toEqual(["charge:20", "reserve:2:reserve#compensate:start", "reserve:2"]);
        const steps = new Map(view.steps.map((s) => [s.key, s.output]));
        expect(steps.get("charge#compensate")).toEqual({ compensated: true });
        expect(steps.get("reserve#compensate")).toEqual({ compensated: true });
        expect(steps.has("note#compensate")).toBe(false);
        expect(steps.get("#failed")).toEqual(expect.objectContaining({ message: "no truck", step: "ship" }));
      });

      it("a compensation that fails after its retries is recorded with the run's error; the others still run", async () => {
        const undone: string[] = [];
        const wf = saga(undone, { chargeFails: true });
        const e = await engine([wf]);
        await e.start(wf, 1, { id: "saga-2" });
        // The compensation's retry waits its backoff in store time.
        let view = await e.status("saga-2");
        for (let i = 0; i < 100 && view.status !== "failed"; i++) {
          await h.advance(5);
          await new Promise((resolve) => setTimeout(resolve, 5));
          view = await e.status("saga-2");
        }
        expect(view.error?.message).toBe("no truck");
        expect(view.error?.compensations).toEqual([expect.objectContaining({ message: "refund refused", step: "charge" })]);
        const charge = view.steps.find((s) => s.key === "charge#compensate");
        expect(charge?.output).toMatchObject({ compensated: false, error: { message: "refund refused" } });
        expect(charge?.attempts).toBe(2);
        expect(undone).toContain("reserve:2");
      });

      it("a run whose worker stopped while compensating goes on compensating elsewhere, without repeating committed ones", async () => {
        const undone: string[] = [];
        let release!: () => void;
        const gate = new Promise<void>((resolve) => (release = resolve));
        const first = await engine([saga(undone, { holdReserve: gate })], { lease: 50 });
        await first.start(saga(undone), 1, { id: "saga-3" });
        await until(first, "saga-3", (v) => v.steps.some((s) => s.key === "charge#compensate") && undone.length === 2, "compensating");
        const second = await h.reopen(first, [saga(undone)], { lease: 50 });
        await h.advance(80);
        const view = await finished(second, "saga-3");
        expect(view.error?.message).toBe("no truck");
        // The held compensation ran again on the second worker (at least once); the committed one did not.
        expect(undone.filter((u) => u === "charge:20")).toHaveLength(1);
        expect(undone.filter((u) => u === "reserve:2")).toHaveLength(1);
        release();
      });

      it("a run that fails before any compensable step commits ends at once, with no compensation step", async () => {
        const wf = flow<number>("saga-early")
          .then("boom", () => {
            throw new Error("early");
          })
          .then(task("after", (n: number) => n, { compensate: () => {} }))
          .build();
        const e = await engine([wf]);
        await e.start(wf, 1, { id: "saga-4" });
        const view = await finished(e, "saga-4");
        expect(view.error?.message).toBe("early");
        expect(view.steps).toEqual([]);
      });
    });

    describe("heartbeats", () => {
      it("a step's heartbeats renew its lease past the lease's length and show its progress", async () => {
        let runs = 0;
        const ticks: (() => void)[] = [];
        const wf = flow<null>("long-step")
          .then("crunch", async (_: null, ctx) => {
            runs++;
            for (let done = 1; done <= 4; done++) {
              ctx.heartbeat({ done });
              await new Promise<void>((resolve) => ticks.push(resolve));
            }
            return "crunched";
          })
          .build();
        const e = await engine([wf], { lease: 50 });
        await e.start(wf, null, { id: "hb" });
        for (let done = 1; done <= 4; done++) {
          const view = await until(e, "hb", (v) => (v.progress.crunch?.details as { done?: number })?.done === done, `at ${done}`);
          expect(view.status).toBe("running");
          // Less than a lease after the heartbeat, four times over: twice the lease in all.
          await h.advance(30);
          ticks.shift()!();
        }
        const view = await finished(e, "hb");
        expect(view.output).toBe("crunched");
        expect(runs).toBe(1);
        expect(view.steps[0]?.progress?.details).toEqual({ done: 4 });
        expect(typeof view.steps[0]?.progress?.at).toBe("number");
      });

      it("heartbeat details that cannot be encoded or are too large are refused to the task", async () => {
        const refusals: string[] = [];
        const wf = flow<null>("bad-heartbeat")
          .then("crunch", (_: null, ctx) => {
            for (const details of [() => 1, "x".repeat(20_000)]) {
              try {
                ctx.heartbeat(details);
              } catch (err) {
                refusals.push((err as { code?: string }).code ?? "none");
              }
            }
            return refusals.length;
          })
          .build();
        const e = await engine([wf]);
        await e.start(wf, null, { id: "hb-bad" });
        const view = await finished(e, "hb-bad");
        expect(refusals).toEqual(["CODEC", "PAYLOAD_TOO_LARGE"]);
        expect(view.progress).toEqual({});
      });
    });

    it("a failing fork branch fails the run after the other branch settles", async () => {
      let other = 0;
      const wf = flow<null>("fork-fail")
        .fork([
          branch(
            "bad",
            task("bad", () => {
              throw new Error("bad branch");
            }),
          ),
          branch(
            "good",
            task("good", async () => ++other),
          ),
        ])
        .join("j", (o) => o)
        .build();
      const e = await engine([wf]);
      await e.start(wf, null, { id: "ff" });
      const view = await finished(e, "ff");
      expect(view.status).toBe("failed");
      expect(view.error?.message).toBe("bad branch");
      expect(other).toBe(1);
    });

    it("bad input is rejected with a typed error and nothing is stored", async () => {
      const wf = flow<unknown>("inputs")
        .then("id", (x) => x)
        .build();
      const e = await engine([wf]);
      await expect(e.start(wf, { f: () => 1 }, { id: "bad-fn" })).rejects.toMatchObject({ code: "CODEC" });
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      await expect(e.start(wf, cyclic, { id: "bad-cycle" })).rejects.toMatchObject({ code: "CODEC" });
      await expect(e.start(wf, "x".repeat(2_000_000), { id: "too-big" })).rejects.toMatchObject({ code: "PAYLOAD_TOO_LARGE" });
      await expect(e.start(wf, 1, { id: "" })).rejects.toMatchObject({ code: "VALIDATION" });
      await expect(e.start(wf, 1, { id: 42 as unknown as string })).rejects.toMatchObject({ code: "VALIDATION" });
      await expect(e.start("nope", 1)).rejects.toMatchObject({ code: "UNKNOWN_WORKFLOW" });
      await expect(e.signal("missing", "x")).rejects.toMatchObject({ code: "UNKNOWN_INSTANCE" });
      await expect(e.status("missing")).rejects.toMatchObject({ code: "UNKNOWN_INSTANCE" });
      expect((await e.list()).runs).toEqual([]);
    });

    it("a task output that cannot be encoded fails the run with CodecError; committed steps stay", async () => {
      const wf = flow<null>("bad-output")
        .then("fine", () => 1)
        .then("fn", () => () => 1)
        .build();
      const e = await engine([wf]);
      await e.start(wf, null, { id: "bo" });
      const view = await finished(e, "bo");
      expect(view.status).toBe("failed");
      expect(view.error?.code).toBe("CODEC");
      expect(view.steps.map((s) => s.key)).toEqual(["fine"]);
    });

    it("list filters by status and workflow and pages with a cursor", async () => {
      const a = flow<number>("list-a").waitForSignal("s", "go").build();
      const b = flow<number>("list-b")
        .then("x", (n) => n)
        .build();
      const e = await engine([a, b]);
      for (let i = 0; i < 5; i++) await e.start(a, i, { id: `a${i}` });
      await e.start(b, 1, { id: "b0" });
      await finished(e, "b0");
      for (let i = 0; i < 5; i++) await parked(e, `a${i}`);
      const first = await e.list({ status: "parked", workflow: "list-a", limit: 3 });
      expect(first.runs).toHaveLength(3);
      const rest = await e.list({ status: "parked", workflow: "list-a", limit: 3, cursor: first.cursor! });
      expect(rest.cursor).toBeNull();
      expect([...first.runs, ...rest.runs].map((r) => r.id).sort()).toEqual(["a0", "a1", "a2", "a3", "a4"]);
      expect((await e.list({ status: "completed" })).runs.map((r) => r.id)).toEqual(["b0"]);
      await expect(e.list({ status: "bogus" as "parked" })).rejects.toMatchObject({ code: "VALIDATION" });
    });

    it("counts runs per status from the indexes, of every workflow or of one", async () => {
      const a = flow<number>("count-a").waitForSignal("s", "go").build();
      const b = flow<number>("count-b")
        .then("x", (n) => n)
        .build();
      const e = await engine([a, b]);
      const none = { pending: 0, running: 0, parked: 0, paused: 0, completed: 0, failed: 0, cancelled: 0 };
      expect(await e.counts()).toEqual(none);
      for (let i = 0; i < 4; i++) await e.start(a, i, { id: `ca${i}` });
      await e.start(b, 1, { id: "cb0" });
      await finished(e, "cb0");
      for (let i = 0; i < 4; i++) await parked(e, `ca${i}`);
      await e.cancel("ca0");
      await e.pause("ca1");
      expect(await e.counts()).toEqual({ ...none, parked: 2, paused: 1, completed: 1, cancelled: 1 });
      expect(await e.counts({ workflow: "count-a" })).toEqual({ ...none, parked: 2, paused: 1, cancelled: 1 });
      expect(await e.counts({ workflow: "count-b" })).toEqual({ ...none, completed: 1 });
      expect(await e.counts({ workflow: "nothing-here" })).toEqual(none);
      await expect(e.counts({ workflow: "" })).rejects.toMatchObject({ code: "VALIDATION" });
      await expect(e.counts({ status: "parked" } as never)).rejects.toMatchObject({ code: "VALIDATION" });
    });

    describeLifecycleBehaviour(() => h);

    describe("typed handles and signal definitions", () => signalCases(() => h));

    describe("finding runs", () => listCases(() => h));

    describe("flow control", () => flowControlCases(() => h));
    describe("child runs", () => childCases(() => h));

    describe("delayed start and signal-with-start", () => startCases(() => h));

    describe("schedules", () => scheduleCases(() => h));

    describe("timings, errors and history", () => historyCases(() => h));

    describe("the payload contract (docs/codec.md): a step gets the same value whether the run parked or not", () => {
      // What the step after "make" was handed, by run id; "make" returns round-trip case n.
      const seen = new Map<string, unknown>();
      const see = (value: unknown, ctx: { instanceId: string }) => {
        seen.set(ctx.instanceId, value);
        return value;
      };
      const make = (n: number) => codecRoundTrips[n]!.make();
      const direct = flow<number>("codec-direct").then("make", make).then("see", see).build();
      const parking = flow<number>("codec-parked").then("make", make).delay("nap", 5).then("see", see).build();

      codecRoundTrips.forEach((entry, n) => {
        it(`round-trips ${entry.name}`, async () => {
          const e = await engine([direct, parking]);
          await e.start(direct, n, { id: `direct-${n}` });
          await e.start(parking, n, { id: `parked-${n}` });
          // A first walk always parks at a delay; on real time it may be past it before we look.
          await until(e, `parked-${n}`, (v) => v.status === "parked" || v.status === "completed", "parked");
          await h.advance(10);
          const expected = (entry.expected ?? entry.make)();
          for (const id of [`direct-${n}`, `parked-${n}`]) {
            const view = await finished(e, id);
            expect(view.status).toBe("completed");
            expect(view.steps.map((s) => s.key).sort()).toEqual(id.startsWith("parked") ? ["make", "nap", "see"] : ["make", "see"]);
            expect(codecDifference(seen.get(id), expected), `handed to the next step in ${id}`).toBeNull();
            expect(codecDifference(await e.result(id), expected), `result of ${id}`).toBeNull();
          }
        });
      });

      it("the next step is handed the committed output, not the object the task returned", async () => {
        const returned = { items: ["a"] };
        let handed: unknown;
        const wf = flow<null>("codec-hand-over")
          .then("make", () => returned)
          .then("see", (v) => {
            handed = v;
            returned.items.push("changed after the commit");
            return v;
          })
          .build();
        const e = await engine([wf]);
        await e.start(wf, null, { id: "hand-over" });
        expect(await e.result("hand-over")).toEqual({ items: ["a"] });
        expect(handed).not.toBe(returned);
        expect(handed).toEqual({ items: ["a"] });
      });

      codecRefusals.forEach((entry, n) => {
        it(`refuses ${entry.name} with CodecError naming its path, storing nothing of it`, async () => {
          const wf = flow<null>("codec-refused")
            .then("before", () => "kept")
            .then("bad", () => entry.make())
            .build();
          const e = await engine([wf]);
          const refused = await e.start(wf as never, entry.make() as never, { id: `refused-input-${n}` }).catch((x: unknown) => x);
          expect(refused).toMatchObject({ code: "CODEC" });
          expect((refused as Error).message).toContain(`cannot be encoded: ${entry.path} `);
          expect((refused as Error).message).toContain(entry.reason);
          await expect(e.status(`refused-input-${n}`)).rejects.toMatchObject({ code: "UNKNOWN_INSTANCE" });

          await e.start(wf, null, { id: `refused-output-${n}` });
          const view = await finished(e, `refused-output-${n}`);
          expect(view.status).toBe("failed");
          expect(view.error?.code).toBe("CODEC");
          expect(view.error?.message).toContain(`output of step "bad" of run "refused-output-${n}" cannot be encoded: ${entry.path} `);
          expect(view.steps.map((s) => [s.key, s.output])).toEqual([["before", "kept"]]);
        });
      });
    });

    describe("every node kind inside every node kind that holds others", () => {
      for (const nest of nodeKindNestings()) {
        it(`${nest.inner} inside ${nest.outer}`, async () => {
          const e = await engine([nest.workflow]);
          const id = `nest-${nest.outer}-${nest.inner}`;
          await e.start(nest.workflow, 1, { id });
          for (let i = 0; i < 4; i++) {
            const view = await until(e, id, (v) => v.status !== "running" && v.status !== "pending", "settled");
            if (view.status === "completed") break;
            for (const w of view.waitingFor) if (w.kind === "signal") await e.signal(id, w.signal, 1);
            await h.advance(30);
          }
          const view = await finished(e, id);
          expect(view.status).toBe("completed");
          expect(view.output).toBe(nest.expected);
        });
      }
    });

    describe("shapes decided by data", () => {
      /** Element 1 naps before its work; the others work at once. */
      const napping = flow<number>("element")
        .route("pace", (n) => (n === 1 ? "nap" : "go"), ["nap", "go"])
        .branch(
          "nap",
          flow<number>("napper")
            .delay("nap", 40)
            .then("late", (n) => n * 10)
            .build(),
        )
        .defaultBranch(task("work", (n: number) => n * 10))
        .done();

      it("map: an element that parks parks the run while the others go on; the output is in order", async () => {
        const wf = flow<number>("map-park")
          .map("lines", (n) => [0, 1, 2].map((i) => i + n - 1), napping.build())
          .build();
        const e = await engine([wf]);
        await e.start(wf, 1, { id: "mp" });
        const view = await parked(e, "mp");
        expect(view.waitingFor).toEqual([expect.objectContaining({ kind: "timer", key: "lines[1]/pace[nap]/nap" })]);
        expect(view.steps.map((s) => s.key)).toEqual(expect.arrayContaining(["lines", "lines[0]/pace[*]/work", "lines[2]/pace[*]/work"]));
        await h.advance(60);
        expect((await finished(e, "mp")).output).toEqual([0, 10, 20]);
      });

      it("map: a resumed run skips committed elements, each element's task runs once", async () => {
        const calls = new Map<number, number>();
        const count = task("count", (n: number) => {
          calls.set(n, (calls.get(n) ?? 0) + 1);
          return n;
        });
        const element = flow<number>("counted")
          .then(count)
          .delay("nap", 40)
          .then("twice", (n) => n * 2)
          .build();
        const wf = flow<null>("map-resume")
          .map("each", () => [1, 2, 3, 4], element, { concurrency: 2 })
          .build();
        const e = await engine([wf]);
        await e.start(wf, null, { id: "mr" });
        expect((await parked(e, "mr")).waitingFor).toHaveLength(4);
        const restarted = await h.reopen(e, [wf]);
        await h.advance(60);
        expect((await finished(restarted, "mr")).output).toEqual([2, 4, 6, 8]);
        expect([...calls.entries()].sort()).toEqual([
          [1, 1],
          [2, 1],
          [3, 1],
          [4, 1],
        ]);
      });

      it("map: more items than maxItems fail the run with MapLimitError; none runs", async () => {
        let ran = 0;
        const wf = flow<number>("map-limit")
          .map(
            "many",
            (n) => Array.from({ length: n }, (_, i) => i),
            task("each", () => ran++),
            { maxItems: 2 },
          )
          .build();
        const e = await engine([wf]);
        await e.start(wf, 3, { id: "ml" });
        const view = await finished(e, "ml");
        expect(view.status).toBe("failed");
        expect(view.error?.code).toBe(MapLimitError.code);
        expect(ran).toBe(0);
      });

      /** "Approved, rejected or expired", then a wait for "rejected" that only a buffered signal answers at once. */
      const decision = flow<null>("decision")
        .delay("settle", 40)
        .race("decide", [
          branch("approved", flow<null>("yes").waitForSignal<string>("ok", "approved").build()),
          branch("rejected", flow<null>("no").waitForSignal<string>("nok", "rejected").build()),
          branch("expired", flow<null>("late").delay("expiry", 2000).build()),
        ])
        .then("note", (r) => r.winner)
        .build();

      it("race: the first signal wins; the loser's signal stays buffered for a later wait", async () => {
        const wf = flow<null>("race-buffered").thenFlow(decision).waitForSignal<string>("rest", "rejected").build();
        const e = await engine([wf]);
        await e.start(wf, null, { id: "rb" });
        await parked(e, "rb");
        // Both are buffered before the run reaches the race: the first branch takes its signal and wins.
        await e.signal("rb", "approved", "A");
        await e.signal("rb", "rejected", "R");
        await h.advance(60);
        const view = await finished(e, "rb");
        expect(view.status).toBe("completed");
        expect(view.steps.find((s) => s.key === "decision/decide")?.output).toEqual({ winner: "approved", output: "A" });
        expect(view.output).toBe("R");
        expect(view.steps.map((s) => s.key)).not.toContain("decision/rejected/nok");
      });

      it("race: a signal that comes while every branch is parked wins, and its rivals' waits are dropped", async () => {
        const e = await engine([decision]);
        await e.start(decision, null, { id: "rs" });
        await parked(e, "rs");
        await h.advance(60);
        const waiting = await parked(e, "rs");
        expect(waiting.waitingFor.map((w) => w.key).sort()).toEqual(["approved/ok", "expired/expiry", "rejected/nok"]);
        await e.signal("rs", "rejected", "no");
        const view = await finished(e, "rs");
        expect(view.output).toBe("rejected");
        expect(view.waitingFor).toEqual([]);
      });

      it("race: with no signal, the delay wins (expired)", async () => {
        const e = await engine([decision]);
        await e.start(decision, null, { id: "rx" });
        await parked(e, "rx");
        await h.advance(60);
        await parked(e, "rx");
        await h.advance(2100);
        expect((await finished(e, "rx")).output).toBe("expired");
      });

      it("delay: computed from the input, and a date in the past wakes at once", async () => {
        const wf = flow<{ ms: number; at: number }>("computed-delay")
          .delay("wait", (x) => x.ms)
          .delay("until", (x) => new Date(x.at))
          .then("done", () => "done")
          .build();
        const e = await engine([wf]);
        await e.start(wf, { ms: 40, at: 0 }, { id: "cd" });
        expect((await parked(e, "cd")).waitingFor).toEqual([expect.objectContaining({ kind: "timer", key: "wait", reason: "delay" })]);
        await h.advance(60);
        expect((await finished(e, "cd")).output).toBe("done");
      });

      it("delay: a date in the future parks until that date", async () => {
        const wf = flow<null>("delay-until")
          .waitForSignal<number>("when", "when")
          .delay("until", (at) => new Date(at))
          .build();
        const e = await engine([wf]);
        await e.start(wf, null, { id: "du" });
        const { createdAt } = await parked(e, "du");
        const at = createdAt + 3_600_000;
        await e.signal("du", "when", at);
        const view = await until(e, "du", (v) => v.status === "parked" && v.waitingFor[0]?.key === "until", "parked on the date");
        const wait = view.waitingFor[0]!;
        expect(wait.kind === "timer" && Math.abs(wait.until - at) < 1000).toBe(true);
      });

      it("loop: a sub-flow body sleeps between tries", async () => {
        let tries = 0;
        const poll = flow<number>("poll-body")
          .then("try", (n) => {
            tries++;
            return n + 1;
          })
          .delay("nap", 30)
          .then("decide", (n) => (n >= 3 ? LoopResult.done(n) : LoopResult.again(n)))
          .build();
        const wf = flow<number>("poller").loop("poll", poll, { maxIterations: 5 }).build();
        const e = await engine([wf]);
        await e.start(wf, 0, { id: "pl" });
        expect((await parked(e, "pl")).waitingFor).toEqual([expect.objectContaining({ kind: "timer", key: "poll#1/nap" })]);
        for (let i = 0; i < 3; i++) {
          const view = await until(e, "pl", (v) => v.status === "parked" || v.status === "completed", "parked or done");
          if (view.status === "completed") break;
          await h.advance(40);
        }
        expect((await finished(e, "pl")).output).toBe(3);
        expect(tries).toBe(3);
      });

      it("loop: onMax fails by default and passes on the last value with exitWithLast", async () => {
        const again = (n: number) => LoopResult.again(n + 1);
        const failing = flow<number>("loop-fail").loop("spin", again, { maxIterations: 3 }).build();
        const lenient = flow<number>("loop-exit").loop("spin", again, { maxIterations: 3, onMax: "exitWithLast" }).build();
        const e = await engine([failing, lenient]);
        await e.start(failing, 0, { id: "lf" });
        await e.start(lenient, 0, { id: "le" });
        const failed = await finished(e, "lf");
        expect(failed.error?.code).toBe(LoopLimitError.code);
        expect((await finished(e, "le")).output).toBe(3);
      });

      it("run timeout: a parked run wakes at its deadline and fails with RunTimeoutError", async () => {
        const wf = flow<null>("timed-park", { timeout: 50 }).delay("long", "1h").build();
        const e = await engine([wf]);
        await e.start(wf, null, { id: "tp" });
        const view = await parked(e, "tp");
        expect(view.waitingFor).toEqual(
          expect.arrayContaining([expect.objectContaining({ kind: "timer", key: "#timeout", reason: "timeout" })]),
        );
        await h.advance(80);
        const failed = await finished(e, "tp");
        expect(failed.status).toBe("failed");
        expect(failed.error?.code).toBe(RunTimeoutError.code);
      });

      it("run timeout: a task in flight is aborted and the run fails with RunTimeoutError", async () => {
        let aborted: unknown = null;
        const wf = flow<null>("timed-task", { timeout: 50 })
          .then(
            "hang",
            (_: null, ctx) =>
              new Promise<null>((_resolve, reject) =>
                ctx.signal.addEventListener("abort", () => {
                  aborted = ctx.signal.reason;
                  reject(ctx.signal.reason as Error);
                }),
              ),
          )
          .build();
        const e = await engine([wf]);
        await e.start(wf, null, { id: "tt" });
        await until(e, "tt", (v) => v.status === "running", "running");
        await h.advance(80);
        const failed = await finished(e, "tt");
        expect(failed.error?.code).toBe(RunTimeoutError.code);
        expect(isParkwayError(aborted, RunTimeoutError.code)).toBe(true);
      });
    });

    describe("every node kind directly after every other node kind", () => {
      for (const pair of nodeKindPairs()) {
        it(`${pair.first} then ${pair.second}`, async () => {
          const e = await engine([pair.workflow]);
          const id = `pair-${pair.first}-${pair.second}`;
          await e.start(pair.workflow, 1, { id });
          for (let i = 0; i < 4; i++) {
            const view = await until(e, id, (v) => v.status !== "running" && v.status !== "pending", "settled");
            if (view.status === "completed") break;
            for (const w of view.waitingFor) if (w.kind === "signal") await e.signal(id, w.signal, 1);
            await h.advance(30);
          }
          const view = await finished(e, id);
          expect(view.status).toBe("completed");
          expect(view.output).toBe(pair.expected);
        });
      }
    });
  });
}
