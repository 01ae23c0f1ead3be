/**
 * The behaviour suite's cases for timings, errors and history: each step's attempt records, the
 * run's bounded history of events, and how both follow retries, waits, signals, pauses, cancels
 * and repairs. Declared by `describeEngineConformance`, so every store runs them.
 */
import { expect, it } from "vitest";
import { flow } from "../builder/flow.js";
import { task } from "../builder/task.js";
import { describeRun } from "../engine/run-tree.js";
import { HISTORY_LIMIT, ATTEMPTS_KEPT, type RunEvent } from "../store/history.js";
import { statusWaits, type EngineHarness, type EngineUnderTest } from "./harness.js";
import type { RunView } from "../engine/client.js";

/** Declares the history cases; `harness` is read when each test runs. */
export function historyCases(harness: () => EngineHarness): void {
  const { until, parked, finished } = statusWaits(harness);

  /** Lets store time pass in small steps (in-process backoffs sleep on the store's clock) until the run finished. */
  async function finishedAfterBackoffs(e: EngineUnderTest, id: string): Promise<RunView> {
    for (let i = 0; i < 400; i++) {
      const view = await e.status(id);
      if (["completed", "failed", "cancelled"].includes(view.status)) return view;
      await harness().advance(2);
    }
    throw new Error(`run "${id}" never finished`);
  }

  /** Waits until the run's history holds `count` events. */
  async function historyOf(e: EngineUnderTest, id: string, count: number): Promise<readonly RunEvent[]> {
    let events: readonly RunEvent[] = [];
    for (let i = 0; i < 400; i++) {
      await harness().advance(0);
      events = await e.history(id);
      if (events.length >= count) return events;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    throw new Error(`run "${id}" never had ${count} events: ${events.map((ev) => ev.type).join(", ")}`);
  }

  const types = (events: readonly RunEvent[]) => events.map((ev) => ev.type);

  it("a retried step keeps each attempt's error and times, and its history says when each retry was scheduled", async () => {
    const wf = flow<null>("hist-retry")
      .then(
        "flaky",
        (_, ctx) => {
          if (ctx.attempt < 3) throw new TypeError(`boom ${ctx.attempt}`);
          return "ok";
        },
        { retry: { maxAttempts: 3, backoff: { initial: 1, factor: 1 } } },
      )
      .build();
    const e = await harness().create([wf]);
    await e.start(wf, null, { id: "hr" });
    const view = await finishedAfterBackoffs(e, "hr");
    expect(view.status).toBe("completed");
    const step = view.steps.find((s) => s.key === "flaky")!;
    expect(step.attempts).toBe(3);
    expect(step.attemptLog.map((a) => [a.attempt, a.error?.name ?? null, a.error?.message ?? null])).toEqual([
      [1, "TypeError", "boom 1"],
      [2, "TypeError", "boom 2"],
      [3, null, null],
    ]);
    expect(step.attemptLog[0]!.error!.stack).toContain("boom 1");
    let previousEnd = view.createdAt;
    for (const attempt of step.attemptLog) {
      expect(attempt.startedAt).toBeGreaterThanOrEqual(previousEnd);
      expect(attempt.finishedAt).toBeGreaterThanOrEqual(attempt.startedAt!);
      previousEnd = attempt.finishedAt!;
    }
    expect(step.startedAt).toBe(step.attemptLog[0]!.startedAt);
    expect(step.finishedAt).toBe(step.attemptLog[2]!.finishedAt);
    expect(step.durationMs).toBe(step.finishedAt! - step.startedAt!);
    expect(step.lastError).toMatchObject({ name: "TypeError", message: "boom 2" });
    expect(view.timings.flaky).toEqual(expect.objectContaining({ lastError: step.lastError, attemptLog: step.attemptLog }));

    const history = await e.history("hr");
    expect(types(history)).toEqual(["started", "retry.scheduled", "retry.scheduled", "step.committed", "completed"]);
    const [, first, second, committed] = history;
    expect(first).toEqual({
      at: step.attemptLog[0]!.finishedAt,
      type: "retry.scheduled",
      key: "flaky",
      attempt: 1,
      error: { name: "TypeError", message: "boom 1" },
      retryAt: step.attemptLog[0]!.finishedAt! + 1,
    });
    expect(second).toMatchObject({ type: "retry.scheduled", attempt: 2, error: { message: "boom 2" } });
    expect(committed).toEqual({ at: step.finishedAt, type: "step.committed", key: "flaky", attempt: 3 });
    for (let i = 1; i < history.length; i++) expect(history[i]!.at).toBeGreaterThanOrEqual(history[i - 1]!.at);
  });

  it("a step waiting to retry shows why it failed, in status, in the tree and in the history", async () => {
    const wf = flow<null>("hist-wait-retry")
      .then(
        "flaky",
        (_, ctx) => {
          if (ctx.attempt === 1) throw new Error("not yet");
          return "ok";
        },
        // Long enough that a loaded machine still sees the run parked on real time.
        { retry: { maxAttempts: 2, backoff: { initial: 1000, factor: 1, max: 1000 } } },
      )
      .build();
    const e = await harness().create([wf], { holdRetriesUpTo: 10 });
    await e.start(wf, null, { id: "hw" });
    const view = await parked(e, "hw");
    const wait = view.waitingFor[0]!;
    expect(wait).toMatchObject({ kind: "timer", key: "flaky", reason: "retry" });
    expect(view.steps).toEqual([]);
    const timing = view.timings.flaky!;
    expect(timing.lastError).toMatchObject({ name: "Error", message: "not yet" });
    expect(timing.attemptLog).toEqual([
      { attempt: 1, startedAt: timing.startedAt, finishedAt: timing.finishedAt, error: timing.lastError },
    ]);
    expect(describeRun(wf, view)[0]).toMatchObject({ state: "parked", wait, lastError: { message: "not yet" } });
    const history = await e.history("hw");
    expect(types(history)).toEqual(["started", "retry.scheduled", "parked"]);
    const retry = history[1] as Extract<RunEvent, { type: "retry.scheduled" }>;
    expect(retry.retryAt).toBe(retry.at + 1000);
    expect(retry.retryAt).toBeLessThanOrEqual(wait.kind === "timer" ? wait.until : 0);
    expect(history[2]).toEqual({ at: expect.any(Number) as number, type: "parked", waits: [wait] });

    await harness().advance(1010);
    const done = await finished(e, "hw");
    expect(done.steps[0]!.attemptLog.map((a) => a.error?.message ?? null)).toEqual(["not yet", null]);
    expect(done.steps[0]!.lastError).toMatchObject({ message: "not yet" });
    expect(types(await e.history("hw"))).toEqual(["started", "retry.scheduled", "parked", "woke", "step.committed", "completed"]);
  });

  it("the history follows a run in order across park, wake, signals, pause, resume and cancel", async () => {
    const wf = flow<number>("hist-order")
      .then("a", (n) => n + 1)
      .waitForSignal<number>("approval", "go")
      .waitForSignal<number>("more", "again")
      .delay("nap", 40)
      .waitForSignal<number>("last", "end")
      .build();
    const e = await harness().create([wf]);
    await e.start(wf, 1, { id: "ho" });
    await parked(e, "ho");
    await e.signal("ho", "go", 2);
    await historyOf(e, "ho", 7);
    await e.pause("ho");
    await e.resume("ho");
    // Resumed, the run is looked at again: no signal came, so it parks once more.
    await historyOf(e, "ho", 11);
    await e.signal("ho", "again", 3);
    await until(e, "ho", (v) => v.waitingFor[0]?.key === "nap", "parked on its delay");
    await harness().advance(60);
    await until(e, "ho", (v) => v.waitingFor[0]?.key === "last", "parked on the last signal");
    await e.cancel("ho");
    const history = await e.history("ho");
    expect(types(history)).toEqual([
      "started",
      "step.committed",
      "parked",
      "signal.received",
      "woke",
      "step.committed",
      "parked",
      "paused",
      "resumed",
      "woke",
      "parked",
      "signal.received",
      "woke",
      "step.committed",
      "parked",
      "woke",
      "step.committed",
      "parked",
      "cancelled",
    ]);
    expect(history[1]).toMatchObject({ type: "step.committed", key: "a", attempt: 1 });
    expect(history[2]).toMatchObject({ type: "parked", waits: [{ kind: "signal", key: "approval", signal: "go", timeoutAt: null }] });
    expect(history[3]).toMatchObject({ type: "signal.received", signal: "go" });
    expect(history[5]).toMatchObject({ type: "step.committed", key: "approval" });
    expect(history[6]).toMatchObject({ type: "parked", waits: [{ kind: "signal", key: "more", signal: "again" }] });
    expect(history[14]).toMatchObject({ type: "parked", waits: [{ kind: "timer", key: "nap", reason: "delay" }] });
    expect(history[16]).toMatchObject({ type: "step.committed", key: "nap" });
    for (let i = 1; i < history.length; i++) expect(history[i]!.at).toBeGreaterThanOrEqual(history[i - 1]!.at);

    // A step that waits starts when it first parks and ends when it commits: a delay lasts at least its delay.
    const view = await e.status("ho");
    const nap = view.steps.find((s) => s.key === "nap")!;
    expect(nap).toMatchObject({ startedAt: history[14]!.at, finishedAt: history[16]!.at });
    expect(nap.durationMs).toBeGreaterThanOrEqual(40);
    // Parked again after the pause, the signal step keeps the start of its first park.
    expect(view.steps.find((s) => s.key === "more")).toMatchObject({
      startedAt: history[6]!.at,
      finishedAt: history[13]!.at,
      lastError: null,
    });
    // The signal the run waited for when it was cancelled: started, never ended.
    expect(view.timings.last).toMatchObject({ startedAt: history[17]!.at, finishedAt: null, durationMs: null });
  });

  it(`a run keeps its last ${HISTORY_LIMIT} events: one more drops the oldest`, async () => {
    const wf = flow<number>("hist-bound").delay("nap", "1h").waitForSignal<number>("w", "go").build();
    const e = await harness().create([wf]);
    await e.start(wf, 1, { id: "hb" });
    await parked(e, "hb");
    // Buffered while the run sleeps: each signal is one event, and wakes nothing.
    for (let i = 0; i < HISTORY_LIMIT - 2; i++) await e.signal("hb", "go", i);
    const full = await e.history("hb");
    expect(full).toHaveLength(HISTORY_LIMIT);
    expect(types(full.slice(0, 3))).toEqual(["started", "parked", "signal.received"]);
    await e.signal("hb", "go", -1);
    const after = await e.history("hb");
    expect(after).toHaveLength(HISTORY_LIMIT);
    expect(after[0]).toEqual(full[1]);
    expect(after.slice(0, -1)).toEqual(full.slice(1));
    expect(after[HISTORY_LIMIT - 1]).toMatchObject({ type: "signal.received", signal: "go" });
  });

  it(`a step keeps the records of its last ${ATTEMPTS_KEPT} attempts`, async () => {
    const attempts = ATTEMPTS_KEPT + 2;
    const wf = flow<null>("hist-attempts-bound")
      .then(
        "stubborn",
        (_, ctx) => {
          if (ctx.attempt < attempts) throw new Error(`no ${ctx.attempt}`);
          return ctx.attempt;
        },
        { retry: { maxAttempts: attempts, backoff: { initial: 1, factor: 1 } } },
      )
      .build();
    const e = await harness().create([wf]);
    await e.start(wf, null, { id: "hab" });
    const view = await finishedAfterBackoffs(e, "hab");
    const step = view.steps[0]!;
    expect(step.attempts).toBe(attempts);
    expect(step.attemptLog.map((a) => a.attempt)).toEqual(
      Array.from({ length: ATTEMPTS_KEPT }, (_, i) => attempts - ATTEMPTS_KEPT + 1 + i),
    );
    expect(step.lastError?.message).toBe(`no ${attempts - 1}`);
  });

  it("a failed step and the compensations of a failed run are in its history, without stacks", async () => {
    const reserve = task("reserve", (n: number) => n, { compensate: () => undefined });
    const wf = flow<number>("hist-saga")
      .then(reserve)
      .then("charge", () => {
        throw new Error("card declined");
      })
      .build();
    const e = await harness().create([wf]);
    await e.start(wf, 1, { id: "hs" });
    const failed = await finished(e, "hs");
    expect(failed.status).toBe("failed");
    expect(failed.timings.charge).toMatchObject({ lastError: { message: "card declined" }, finishedAt: expect.any(Number) as number });
    expect(describeRun(wf, failed)[1]).toMatchObject({ state: "failed", lastError: { message: "card declined" } });
    const history = await e.history("hs");
    expect(types(history)).toEqual(["started", "step.committed", "step.failed", "step.committed", "compensation.ran", "failed"]);
    expect(history[2]).toMatchObject({
      type: "step.failed",
      key: "charge",
      attempt: 1,
      error: { name: "Error", message: "card declined" },
    });
    expect(history[3]).toMatchObject({ type: "step.committed", key: "#failed" });
    expect(history[4]).toEqual({ at: expect.any(Number) as number, type: "compensation.ran", key: "reserve" });
    expect(history[5]).toMatchObject({ type: "failed", error: { message: "card declined", step: "charge" } });
    expect(JSON.stringify(history)).not.toContain("stack");
  });

  it("an operator's retry and rewind are in the history, and a retried step's records start over", async () => {
    let fail = true;
    const wf = flow<number>("hist-repair")
      .then("reserve", (n) => n)
      .then("charge", (n) => {
        if (fail) throw new Error("card declined");
        return n * 2;
      })
      .build();
    const e = await harness().create([wf]);
    await e.start(wf, 1, { id: "hf" });
    expect((await finished(e, "hf")).status).toBe("failed");
    fail = false;
    await e.retry("hf");
    const retried = await until(e, "hf", (v) => v.status === "completed", "completed after the retry");
    expect(retried.steps.find((s) => s.key === "charge")).toMatchObject({
      attempts: 1,
      lastError: null,
      attemptLog: [{ attempt: 1, error: null }],
    });
    await e.rewind("hf", { to: "reserve" });
    await historyOf(e, "hf", 11);
    const history = await e.history("hf");
    expect(types(history)).toEqual([
      "started",
      "step.committed",
      "step.failed",
      "failed",
      "retried",
      "step.committed",
      "completed",
      "rewound",
      "step.committed",
      "step.committed",
      "completed",
    ]);
    expect(history[7]).toMatchObject({ type: "rewound", to: "reserve" });
  });

  it("history takes a well-formed id of a run that exists", async () => {
    const wf = flow<number>("hist-args").waitForSignal<number>("w", "go").build();
    const e = await harness().create([wf]);
    const handle = await e.start(wf, 1, { id: "ha" });
    await parked(e, "ha");
    expect(await handle.history()).toEqual(await e.history("ha"));
    expect(types(await handle.history())).toEqual(["started", "parked"]);
    await expect(e.history("nobody")).rejects.toMatchObject({ code: "UNKNOWN_INSTANCE", context: { instanceId: "nobody" } });
    await expect(e.history("")).rejects.toMatchObject({ code: "VALIDATION" });
    await expect(e.history(42 as never)).rejects.toMatchObject({ code: "VALIDATION" });
    await expect(e.handle(wf, "nobody").history()).rejects.toMatchObject({ code: "UNKNOWN_INSTANCE" });
    await e.cancel("ha");
    await e.delete("ha");
    await expect(e.history("ha")).rejects.toMatchObject({ code: "UNKNOWN_INSTANCE" });
  });
}
