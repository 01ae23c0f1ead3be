/**
 * The run-lifecycle part of the behaviour suite (retention, delete, purge,
 * retry, rewind, migrate, start conflicts, attempts across crashes), declared
 * inside `describeEngineConformance` so both stores run it.
 */
import { describe, expect, it } from "vitest";
import { branch, flow, LoopResult } from "../builder/flow.js";
import { task } from "../builder/task.js";
import type { Workflow } from "../builder/workflow.js";
import type { DurableRunnerOptions } from "../engine/memory-engine.js";
import { statusWaits, type EngineHarness, type EngineUnderTest } from "./harness.js";

/** Declares the lifecycle tests; `harness` is the current test's harness. */
export function describeLifecycleBehaviour(harness: () => EngineHarness): void {
  const engine = (workflows: readonly Workflow<never, unknown>[], options?: DurableRunnerOptions) => harness().create(workflows, options);
  const { until, parked, finished } = statusWaits(harness);

  /** Polls `check` (letting due work run) until it holds; for index trims that happen on a sweep. */
  async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
    for (let i = 0; i < 400; i++) {
      await harness().advance(10);
      if (await check()) return;
    }
    throw new Error(`never: ${what}`);
  }

  const gone = async (e: EngineUnderTest, id: string) => {
    const error = await e.status(id).then(
      () => null,
      (err: unknown) => err,
    );
    return (error as { code?: string } | null)?.code === "UNKNOWN_INSTANCE";
  };

  describe("run lifecycle", () => {
    it("a finished run goes after its retention, index entries too; a live run never does", async () => {
      const quick = flow<number>("ret-quick", { retention: { completed: 60 } })
        .then("x", (n) => n)
        .build();
      const waiting = flow<number>("ret-live").waitForSignal("w", "go").build();
      const e = await engine([quick, waiting], { retention: { cancelled: 60 } });
      await e.start(waiting, 1, { id: "live" });
      await e.start(waiting, 1, { id: "live-cancelled" });
      await e.start(quick, 1, { id: "done" });
      await finished(e, "done");
      await parked(e, "live");
      await parked(e, "live-cancelled");
      await e.cancel("live-cancelled");
      await eventually(() => gone(e, "done"), "the completed run is gone");
      await eventually(() => gone(e, "live-cancelled"), "the cancelled run is gone");
      await eventually(async () => (await e.counts()).completed === 0 && (await e.counts()).cancelled === 0, "counts drop them");
      expect((await e.list()).runs.map((r) => r.id)).toEqual(["live"]);
      expect(await e.counts({ workflow: "ret-quick" })).toMatchObject({ completed: 0 });
      // Long past every retention, the parked run keeps everything.
      await harness().advance(100);
      await e.signal("live", "go", 7);
      expect(await e.result("live")).toBe(7);
    });

    it('"forever" keeps a finished run; an id whose run expired can be started again', async () => {
      const kept = flow<number>("ret-forever", { retention: { completed: "forever" } })
        .then("x", (n) => n)
        .build();
      const brief = flow<number>("ret-brief", { retention: { completed: 40 } })
        .then("x", (n) => n + 1)
        .build();
      const e = await engine([kept, brief]);
      await e.start(kept, 1, { id: "kept" });
      await e.start(brief, 1, { id: "again" });
      await finished(e, "kept");
      await finished(e, "again");
      await eventually(() => gone(e, "again"), "the brief run is gone");
      await harness().advance(100);
      expect((await e.status("kept")).status).toBe("completed");
      expect((await e.start(brief, 5, { id: "again" })).created).toBe(true);
      expect(await e.result("again")).toBe(6);
      expect((await e.list({ workflow: "ret-brief" })).runs.map((r) => r.id)).toEqual(["again"]);
      await expect(engine([], { retention: { completed: "soon" as never } })).rejects.toMatchObject({ code: "VALIDATION" });
      expect(() => flow("bad-retention", { retention: { done: "1d" } as never })).toThrow(/unknown option "done"/);
    });

    it("delete removes a finished run now and refuses a live one", async () => {
      const wf = flow<number>("del").waitForSignal("w", "go").build();
      const e = await engine([wf]);
      await e.start(wf, 1, { id: "del-1" });
      await parked(e, "del-1");
      await expect(e.delete("del-1")).rejects.toMatchObject({ code: "RUN_STATE", context: { status: "parked" } });
      expect((await e.status("del-1")).status).toBe("parked");
      await e.signal("del-1", "go", 2);
      await finished(e, "del-1");
      await e.delete("del-1");
      expect(await gone(e, "del-1")).toBe(true);
      expect(await e.counts()).toMatchObject({ completed: 0, parked: 0 });
      expect((await e.list()).runs).toEqual([]);
      await expect(e.delete("del-1")).rejects.toMatchObject({ code: "UNKNOWN_INSTANCE" });
    });

    it("purge deletes the finished runs matching every filter, returns the count, and never a live run", async () => {
      const ok = flow<number>("purge-ok")
        .then("x", (n) => n)
        .build();
      const bad = flow<number>("purge-bad")
        .then("x", () => {
          throw new Error("no");
        })
        .build();
      const live = flow<number>("purge-live").waitForSignal("w", "go").build();
      const e = await engine([ok, bad, live]);
      for (let i = 0; i < 5; i++) await e.start(ok, i, { id: `ok${i}` });
      await e.start(bad, 1, { id: "bad" });
      await e.start(live, 1, { id: "live" });
      for (let i = 0; i < 5; i++) await finished(e, `ok${i}`);
      await finished(e, "bad");
      await parked(e, "live");
      await expect(e.purge({})).rejects.toMatchObject({ code: "VALIDATION" });
      await expect(e.purge({ status: "parked" as never })).rejects.toMatchObject({ code: "VALIDATION", context: { option: "status" } });
      await expect(e.purge({ stauts: "failed" } as never)).rejects.toMatchObject({ code: "VALIDATION" });
      expect(await e.purge({ finishedBefore: new Date(0) })).toBe(0);
      expect(await e.counts()).toMatchObject({ completed: 5, failed: 1, parked: 1 });
      expect(await e.purge({ workflow: "purge-ok", status: "completed" })).toBe(5);
      expect(await e.purge({ workflow: "purge-live" })).toBe(0);
      expect(await e.purge({ finishedBefore: Date.now() + 86_400_000 * 365 })).toBe(1);
      expect(await e.counts()).toMatchObject({ completed: 0, failed: 0, parked: 1 });
      expect((await e.status("live")).status).toBe("parked");
    });

    it("a loop keeps only its last iteration's output, and resumes from it after a parked retry", async () => {
      const ran: number[] = [];
      let failOnce = true;
      const wf = flow<number>("loop-last")
        .loop(
          "poll",
          (n) => {
            ran.push(n);
            if (n === 3 && failOnce) {
              failOnce = false;
              throw new Error("not yet");
            }
            return n >= 5 ? LoopResult.done(n) : LoopResult.again(n + 1);
          },
          { maxIterations: 10, retry: { maxAttempts: 2, backoff: { initial: 30, factor: 1 } } },
        )
        .waitForSignal("w", "go")
        .build();
      const e = await engine([wf], { holdRetriesUpTo: 0 });
      await e.start(wf, 1, { id: "loop" });
      const retrying = await parked(e, "loop");
      expect(retrying.steps.map((s) => s.key)).toEqual(["poll#2"]);
      await harness().advance(50);
      const view = await until(e, "loop", (v) => v.waitingFor[0]?.kind === "signal", "waiting for the signal");
      expect(view.steps.map((s) => [s.key, s.output])).toEqual([["poll#5", { loop: "done", value: 5 }]]);
      expect(ran).toEqual([1, 2, 3, 3, 4, 5]);
      await e.signal("loop", "go", "end");
      expect(await e.result("loop")).toBe("end");
    });

    it("retry sends a failed run back to the failed step with its attempts reset; committed steps are not run again", async () => {
      const calls = { one: 0, two: 0 };
      let broken = true;
      const wf = flow<number>("retry-me")
        .then("one", (n) => (calls.one++, n + 1))
        .then(
          "two",
          (n) => {
            calls.two++;
            if (broken) throw new Error("bug in two");
            return n * 10;
          },
          { retry: { maxAttempts: 1 } },
        )
        .build();
      const e = await engine([wf]);
      await e.start(wf, 1, { id: "r1" });
      const failed = await finished(e, "r1");
      expect(failed.status).toBe("failed");
      await expect(e.retry("r1x")).rejects.toMatchObject({ code: "UNKNOWN_INSTANCE" });
      broken = false;
      const retried = await e.retry("r1");
      expect(retried.status).toBe("pending");
      expect(await e.result("r1")).toBe(20);
      expect(calls).toEqual({ one: 1, two: 2 });
      const view = await e.status("r1");
      expect(view.error).toBeNull();
      expect(view.steps.map((s) => [s.key, s.attempts])).toEqual([
        ["one", 1],
        ["two", 1],
      ]);
    });

    it("retry of a running, parked or completed run is a RunStateError and changes nothing", async () => {
      const wf = flow<number>("no-retry").waitForSignal("w", "go").build();
      const e = await engine([wf]);
      await e.start(wf, 1, { id: "nr" });
      const before = await parked(e, "nr");
      await expect(e.retry("nr")).rejects.toMatchObject({ code: "RUN_STATE", context: { status: "parked" } });
      expect((await e.status("nr")).version).toBe(before.version);
      await e.signal("nr", "go", 1);
      await finished(e, "nr");
      await expect(e.retry("nr")).rejects.toMatchObject({ code: "RUN_STATE", context: { status: "completed" } });
      // A cancelled run may be retried: it goes on from where it was interrupted.
      await e.start(wf, 1, { id: "nr2" });
      await parked(e, "nr2");
      await e.cancel("nr2");
      await e.retry("nr2");
      await parked(e, "nr2");
      await e.signal("nr2", "go", 9);
      expect(await e.result("nr2")).toBe(9);
    });

    it("rewind drops a step and what depends on it (its branch's later steps, the join, what follows), keeping the sibling branch", async () => {
      const calls: string[] = [];
      const step =
        (name: string, f: (n: number) => number) =>
        (n: number): number => {
          calls.push(name);
          return f(n);
        };
      const wf = flow<number>("rewind-me")
        .then(
          "start",
          step("start", (n) => n),
        )
        .fork([
          branch(
            "a",
            flow<number>("a-flow")
              .then(
                "a1",
                step("a1", (n) => n + 1),
              )
              .then(
                "a2",
                step("a2", (n) => n * 2),
              )
              .build(),
          ),
          branch(
            "b",
            task(
              "b1",
              step("b1", (n) => n + 100),
            ),
          ),
        ])
        .join("merge", (o: { a: number; b: number }) => o.a + o.b)
        .then(
          "after",
          step("after", (n) => n),
        )
        .build();
      const e = await engine([wf]);
      await e.start(wf, 1, { id: "rw" });
      expect(await e.result("rw")).toBe(105);
      const keys = (await e.status("rw")).steps.map((s) => s.key).sort();
      expect(keys).toEqual(["a/a1", "a/a2", "after", "b/b1", "merge", "start"]);
      await expect(e.rewind("rw", { to: "nope" })).rejects.toMatchObject({ code: "UNKNOWN_STEP" });
      expect((await e.status("rw")).steps.map((s) => s.key).sort()).toEqual(keys);
      calls.length = 0;
      const rewound = await e.rewind("rw", { to: "a/a1" });
      expect(rewound.status).toBe("pending");
      expect(await e.result("rw")).toBe(105);
      expect(calls.sort()).toEqual(["a1", "a2", "after"]);
    });

    it("migrate moves a blocked run to a new definition of its workflow, checked, and it goes on", async () => {
      const v1 = flow<number>("mig")
        .then("one", (n) => n + 1)
        .waitForSignal<number>("w", "go")
        .then("two", (n) => n * 2)
        .build();
      const v2 = flow<number>("mig")
        .then("one", (n) => n + 1)
        .waitForSignal<number>("w", "go")
        .then("two-new", (n) => n * 3)
        .build();
      const renamed = flow<number>("mig")
        .then("uno", (n) => n + 1)
        .waitForSignal<number>("w", "go")
        .then("two-new", (n) => n * 3)
        .build();
      const other = flow<number>("mig-other")
        .then("one", (n) => n)
        .build();
      const e1 = await engine([v1]);
      await e1.start(v1, 1, { id: "m" });
      await parked(e1, "m");
      const e2 = await harness().reopen(e1, [v2, renamed]);
      await e2.signal("m", "go", 5);
      const blocked = await until(e2, "m", (v) => v.error?.code === "DEFINITION_MISMATCH", "blocked");
      await expect(e2.migrate("m", { to: other })).rejects.toMatchObject({ code: "VALIDATION", context: { option: "to" } });
      await expect(e2.migrate("m", { to: renamed })).rejects.toMatchObject({ code: "INCOMPATIBLE_DEFINITION", context: { step: "one" } });
      await expect(e2.migrate("m", { to: renamed, keys: { absent: "uno" } })).rejects.toMatchObject({ code: "UNKNOWN_STEP" });
      const still = await e2.status("m");
      expect([still.hash, still.version, still.steps.length]).toEqual([blocked.hash, blocked.version, blocked.steps.length]);
      await e2.migrate("m", { to: renamed, keys: { one: "uno" } });
      expect(await e2.result("m")).toBe(15);
      const view = await e2.status("m");
      expect([view.hash, view.error]).toEqual([renamed.hash, null]);
      expect(view.steps.map((s) => s.key)).toEqual(["uno", "w", "two-new"]);
    });

    it("start's onConflict: useExisting refuses another workflow's run, fail throws RunExistsError, terminateExisting starts afresh", async () => {
      let firstRan = 0;
      const wf = flow<number>("conflict")
        .then("first", (n) => (firstRan++, n))
        .waitForSignal("w", "go")
        .waitForSignal("w2", "later")
        .build();
      const other = flow<number>("conflict-other")
        .then("x", (n) => n)
        .build();
      const e = await engine([wf, other]);
      await e.start(wf, 1, { id: "c" });
      await parked(e, "c");
      // Buffered for a later wait: it goes with the old run.
      await e.signal("c", "later", "old");
      await expect(e.start(other, 1, { id: "c" })).rejects.toMatchObject({ code: "VALIDATION" });
      await expect(e.start(wf, 1, { id: "c", onConflict: "fail" })).rejects.toMatchObject({ code: "RUN_EXISTS" });
      await expect(e.start(wf, 1, { id: "c", onConflict: "later" as never })).rejects.toMatchObject({ code: "VALIDATION" });
      expect((await e.start(wf, 2, { id: "c" })).created).toBe(false);
      const before = await e.status("c");
      const fresh = await e.start(wf, 3, { id: "c", onConflict: "terminateExisting" });
      expect(fresh.created).toBe(true);
      const view = await parked(e, "c");
      expect(view.input).toBe(3);
      expect(view.version).toBeGreaterThan(before.version);
      expect(firstRan).toBe(2);
      await e.signal("c", "go", 1);
      await until(e, "c", (v) => v.waitingFor[0]?.kind === "signal" && v.steps.some((s) => s.key === "w"), "waiting for the later signal");
      await e.signal("c", "later", "done");
      expect(await e.result("c")).toBe("done");
      expect((await e.list({ workflow: "conflict" })).runs).toHaveLength(1);
    });

    it("a worker's death costs an attempt, but a step may always start 3: the third start runs, a fourth is refused", async () => {
      const started: string[] = [];
      const build = (hang: boolean) =>
        flow<string>("attempt-count")
          .then("only", async (run: string, ctx) => {
            started.push(`${run}:${ctx.attempt}`);
            if (hang) await new Promise(() => {});
            return ctx.attempt;
          })
          .build();
      /** Lets engine `e` die holding `run` in its attempt `attempt`, and returns the engine that takes over. */
      const dieDuring = async (e: EngineUnderTest, run: string, attempt: number, next: boolean) => {
        await until(e, run, () => started.includes(`${run}:${attempt}`), `attempt ${attempt} of ${run} started`);
        const taker = await harness().reopen(e, [build(!next)], { lease: 50 });
        await harness().advance(80);
        return taker;
      };
      // The default policy (maxAttempts 1): two attempts cut short by deaths, and the third start still runs.
      let e = await engine([build(true)], { lease: 50 });
      await e.start(build(true), "a", { id: "a" });
      e = await dieDuring(e, "a", 1, false);
      e = await dieDuring(e, "a", 2, true);
      expect((await finished(e, "a")).output).toBe(3);
      // A task that keeps killing its worker: after 3 starts, the fourth is refused.
      e = await harness().reopen(e, [build(true)], { lease: 50 });
      await e.start(build(true), "b", { id: "b" });
      e = await dieDuring(e, "b", 1, false);
      e = await dieDuring(e, "b", 2, false);
      e = await dieDuring(e, "b", 3, true);
      const view = await finished(e, "b");
      expect(view.status).toBe("failed");
      expect(view.error?.code).toBe("ATTEMPTS_EXHAUSTED");
      expect(started).toEqual(["a:1", "a:2", "a:3", "b:1", "b:2", "b:3"]);
    });

    it("a loop whose body is a sub-flow keeps its last two iterations, and a resumed loop starts at the first it kept", async () => {
      const ran: number[] = [];
      const body = flow<number>("tick")
        .then("check", (n: number) => (ran.push(n), n))
        .delay("pause", 20)
        .then("decide", (n: number) => (n >= 4 ? LoopResult.done(n * 10) : LoopResult.again(n + 1)))
        .build();
      const wf = flow<number>("loop-sub").loop("poll", body, { maxIterations: 10 }).waitForSignal("w", "go").build();
      const e = await engine([wf]);
      await e.start(wf, 1, { id: "ls" });
      // Each iteration parks on its delay, so each is resumed from the store by a new walk.
      const keys = async () => (await e.status("ls")).steps.map((s) => s.key);
      await eventually(async () => (await keys()).includes("poll#3/check"), "iteration 3 started");
      // Iteration 3's first commit dropped iteration 1; iteration 2, whose decision fed it, stays.
      expect((await keys()).filter((k) => !k.startsWith("poll#3/")).sort()).toEqual(["poll#2/check", "poll#2/decide", "poll#2/pause"]);
      await eventually(async () => (await e.status("ls")).waitingFor[0]?.kind === "signal", "waiting for the signal");
      const view = await e.status("ls");
      expect(view.steps.map((s) => s.key).sort()).toEqual([
        "poll#3/check",
        "poll#3/decide",
        "poll#3/pause",
        "poll#4/check",
        "poll#4/decide",
        "poll#4/pause",
      ]);
      expect(ran).toEqual([1, 2, 3, 4]);
      await e.signal("ls", "go", "end");
      expect(await e.result("ls")).toBe("end");
    });

    it("rewind to a step of a map element re-runs that element from the step and what follows the map; the other elements keep theirs", async () => {
      const calls: string[] = [];
      const element = flow<number>("line")
        .then("price", (n: number) => (calls.push(`price${n}`), n * 10))
        .then("tax", (n: number) => (calls.push(`tax${n}`), n + 1))
        .build();
      const wf = flow<number>("rewind-map")
        .map("lines", (n: number) => Array.from({ length: n }, (_, i) => i + 1), element)
        .then("total", (outs: number[]) => (calls.push("total"), outs.reduce((a, b) => a + b, 0)))
        .build();
      const e = await engine([wf]);
      await e.start(wf, 3, { id: "rm" });
      expect(await e.result("rm")).toBe(63);
      await expect(e.rewind("rm", { to: "lines[7]/tax" })).rejects.toMatchObject({ code: "UNKNOWN_STEP" });
      calls.length = 0;
      await e.rewind("rm", { to: "lines[1]/tax" });
      expect(await e.result("rm")).toBe(63);
      expect(calls.sort()).toEqual(["tax20", "total"]);
      calls.length = 0;
      // The map's own key is its items: every element runs again.
      await e.rewind("rm", { to: "lines" });
      expect(await e.result("rm")).toBe(63);
      expect(calls.filter((c) => c.startsWith("price")).sort()).toEqual(["price1", "price2", "price3"]);
    });

    it("rewind to a step of a loop's sub-flow body runs the loop again from its first iteration", async () => {
      let checks = 0;
      const body = flow<number>("rw-body")
        .then("check", (n: number) => (checks++, n))
        .then("decide", (n: number) => (n >= 3 ? LoopResult.done(n) : LoopResult.again(n + 1)))
        .build();
      const wf = flow<number>("rewind-loop")
        .loop("poll", body, { maxIterations: 10 })
        .then("after", (n: number) => n * 2)
        .build();
      const e = await engine([wf]);
      await e.start(wf, 1, { id: "rl" });
      expect(await e.result("rl")).toBe(6);
      expect(checks).toBe(3);
      await expect(e.rewind("rl", { to: "poll#1/check" })).rejects.toMatchObject({ code: "UNKNOWN_STEP" });
      await e.rewind("rl", { to: "poll#3/check" });
      expect(await e.result("rl")).toBe(6);
      expect(checks).toBe(6);
      expect((await e.status("rl")).steps.map((s) => s.key).sort()).toEqual([
        "after",
        "poll#2/check",
        "poll#2/decide",
        "poll#3/check",
        "poll#3/decide",
      ]);
    });

    it("a run that was blocked and then ran shows no stale error", async () => {
      const wf = flow<number>("unblocked")
        .then("x", (n) => n)
        .waitForSignal("w", "go")
        .build();
      const first = await engine([], { blockedRetry: 10 });
      await first.start(wf, 1, { id: "ub" });
      await until(first, "ub", (v) => v.error?.code === "UNKNOWN_WORKFLOW", "blocked");
      const second = await harness().reopen(first, [wf], { blockedRetry: 10 });
      await harness().advance(50);
      const view = await until(second, "ub", (v) => v.waitingFor[0]?.kind === "signal", "waiting for its signal");
      expect(view.error).toBeNull();
    });
  });
}
