/**
 * The behaviour suite's cases for delayed starts and signal-with-start. Declared by
 * `describeEngineConformance`, so every store runs them.
 */
import { expect, it } from "vitest";
import { flow } from "../builder/flow.js";
import { defineSignal } from "../builder/signal.js";
import type { Workflow } from "../builder/workflow.js";
import type { DurableRunnerOptions } from "../engine/memory-engine.js";
import { statusWaits, type EngineHarness } from "./harness.js";

/** Declares the delayed-start and signal-with-start cases; `harness` is read when each test runs. */
export function startCases(harness: () => EngineHarness): void {
  const engine = (workflows: readonly Workflow<never, unknown>[], options?: DurableRunnerOptions) => harness().create(workflows, options);
  const { parked, finished } = statusWaits(harness);

  it("a run started with a delay is parked on its start timer, takes no step before, then runs", async () => {
    let ran = 0;
    const wf = flow<number>("delayed")
      .then("inc", (n) => {
        ran++;
        return n + 1;
      })
      .build();
    const e = await engine([wf]);
    const handle = await e.start(wf, 1, { id: "later", delay: 60 });
    const view = await parked(e, "later");
    expect(view.waitingFor).toEqual([{ kind: "timer", key: "#start", reason: "start", until: view.createdAt + 60 }]);
    expect(ran).toBe(0);
    await harness().advance(80);
    expect(await handle.result()).toBe(2);
    expect(ran).toBe(1);
  });

  it("startAt in the past starts the run at once", async () => {
    const wf = flow<number>("past-start")
      .then("inc", (n) => n + 1)
      .build();
    const e = await engine([wf]);
    await e.start(wf, 1, { id: "past", startAt: new Date(0) });
    expect((await finished(e, "past")).output).toBe(2);
  });

  it("a delayed run cancelled before it starts never runs; signals sent before it starts wait for it", async () => {
    const go = defineSignal<string>("go");
    let ran = 0;
    const wf = flow<null>("delayed-signal")
      .waitForSignal("wait", go)
      .then("echo", (s) => {
        ran++;
        return `got ${s}`;
      })
      .build();
    const e = await engine([wf]);
    const cancelled = await e.start(wf, null, { id: "never", delay: 60 });
    await cancelled.cancel();
    const early = await e.start(wf, null, { id: "buffered", delay: 60 });
    await early.signal(go, "early");
    expect((await parked(e, "buffered")).waitingFor).toEqual([expect.objectContaining({ key: "#start", reason: "start" })]);
    await harness().advance(80);
    expect(await early.result()).toBe("got early");
    expect((await e.status("never")).status).toBe("cancelled");
    expect(ran).toBe(1);
  });

  it("a delayed run paused and resumed before its start still waits for it", async () => {
    const wf = flow<number>("delayed-pause")
      .then("inc", (n) => n + 1)
      .build();
    const e = await engine([wf]);
    await e.start(wf, 1, { id: "held", delay: 80 });
    await e.pause("held");
    await e.resume("held");
    const view = await parked(e, "held");
    expect(view.dueAt).toBe(view.createdAt + 80);
    expect(view.steps).toEqual([]);
    await harness().advance(100);
    expect((await finished(e, "held")).output).toBe(2);
  });

  it("signalWithStart starts a run that does not exist and delivers the signal to it", async () => {
    const item = defineSignal<number>("item");
    const wf = flow<number>("sws")
      .waitForSignal("first", item)
      .then("times", (n) => n * 10)
      .build();
    const e = await engine([wf]);
    const handle = await e.signalWithStart(wf, 5, { id: "sws-new" }, item, 7);
    expect(handle.created).toBe(true);
    expect(await handle.result()).toBe(70);
  });

  it("signalWithStart on an existing run only signals it; concurrent calls make one run and deliver each signal once", async () => {
    const item = defineSignal<string>("item");
    const wf = flow<null>("sws-many")
      .waitForSignal("a", item)
      .then("keep", (a) => [a])
      .waitForSignal("b", item)
      .then("second", (b) => b)
      .waitForSignal("c", item)
      .build();
    const e = await engine([wf]);
    const handles = await Promise.all(["x", "y", "z"].map((p) => e.signalWithStart(wf, null, { id: "sws-one" }, item, p)));
    expect(handles.filter((h) => h.created)).toHaveLength(1);
    const view = await finished(e, "sws-one");
    const taken = [view.steps.find((s) => s.key === "a")?.output, view.steps.find((s) => s.key === "b")?.output, view.output];
    expect(taken.sort()).toEqual(["x", "y", "z"]);
    expect((await e.list({ workflow: "sws-many" })).runs).toHaveLength(1);
  });

  it("signalWithStart checks the signal as signal() does: a name the workflow never waits for starts nothing", async () => {
    const wf = flow<null>("sws-check").waitForSignal<string>("w", "go").build();
    const e = await engine([wf]);
    await expect(e.signalWithStart(wf, null, { id: "sws-bad" }, "og", "x")).rejects.toMatchObject({ code: "UNEXPECTED_SIGNAL" });
    await expect(e.status("sws-bad")).rejects.toMatchObject({ code: "UNKNOWN_INSTANCE" });
    await e.start(wf, null, { id: "sws-done" });
    await e.signal("sws-done", "go", "now");
    await finished(e, "sws-done");
    await expect(e.signalWithStart(wf, null, { id: "sws-done" }, "go", "again")).rejects.toMatchObject({ code: "RUN_FINISHED" });
  });

  it("bad delayed-start options are a ValidationError naming them, and nothing is stored", async () => {
    const wf = flow<number>("bad-start")
      .then("inc", (n) => n + 1)
      .build();
    const e = await engine([wf]);
    const refused = async (options: object, match: RegExp) => {
      await expect(e.start(wf, 1, { id: "bad", ...options })).rejects.toMatchObject({ code: "VALIDATION", message: match });
      await expect(e.signalWithStart(wf, 1, { id: "bad", ...options }, "x")).rejects.toMatchObject({ code: "VALIDATION" });
      await expect(e.status("bad")).rejects.toMatchObject({ code: "UNKNOWN_INSTANCE" });
    };
    await refused({ startAt: "tomorrow" }, /startAt must be a valid Date/);
    await refused({ startAt: new Date(Number.NaN) }, /startAt must be a valid Date/);
    await refused({ startAt: new Date(), delay: "1m" }, /startAt or delay, not both/);
    await refused({ delay: "soon" }, /delay/);
    await refused({ delay: -5 }, /delay/);
    await refused({ startDelay: "1m" }, /unknown option "startDelay"/);
  });
}
