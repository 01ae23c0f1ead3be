/**
 * The behaviour suite's cases for flow control: concurrency limits per key and global, task
 * limits across runs, rate limits in a window, a flow's two limits kept apart, priority among
 * waiters, what a waiting run shows, and a freed slot granted to the next waiter and waking it (no
 * clock advance: the release wakes it, not a timer), given back when that run waits no more.
 * Declared by `describeEngineConformance`, so every store runs them.
 */
import { expect, it } from "vitest";
import { branch, flow } from "../builder/flow.js";
import { task } from "../builder/task.js";
import type { Workflow } from "../builder/workflow.js";
import type { DurableRunnerOptions } from "../engine/memory-engine.js";
import { statusWaits, type EngineHarness, type EngineUnderTest } from "./harness.js";

interface Job {
  readonly key: string;
  readonly n: number;
  readonly p?: number;
}

/** Counts executions in flight per key and remembers the most seen at once. */
class Gauge {
  private readonly now = new Map<string, number>();
  readonly most = new Map<string, number>();
  readonly order: string[] = [];

  async hold(key: string, label: string, ms: number): Promise<void> {
    const n = (this.now.get(key) ?? 0) + 1;
    this.now.set(key, n);
    this.most.set(key, Math.max(n, this.most.get(key) ?? 0));
    this.order.push(label);
    await new Promise((resolve) => setTimeout(resolve, ms));
    this.now.set(key, (this.now.get(key) ?? 1) - 1);
  }
}

/** A promise and its resolver, to hold a task until the test lets it go. */
function gate(): { readonly opened: Promise<void>; readonly open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

/** Declares the flow control cases; `harness` is read when each test runs. */
export function flowControlCases(harness: () => EngineHarness): void {
  const engine = (workflows: readonly Workflow<never, unknown>[], options?: DurableRunnerOptions) => harness().create(workflows, options);
  const { until, finished } = statusWaits(harness);
  const waitingForSlot = (e: EngineUnderTest, id: string) =>
    until(e, id, (v) => v.status === "parked" && v.waitingFor.some((w) => w.kind === "timer" && w.reason === "slot"), "waiting for a slot");

  it("a concurrency limit of 2 per key is never exceeded by many runs, and every run finishes", async () => {
    const gauge = new Gauge();
    const wf = flow<Job>("per-key", { concurrency: { limit: 2, key: (j) => j.key } })
      .then("a", async (j) => (await gauge.hold(j.key, `a${j.n}`, 5), j))
      .then("b", async (j) => (await gauge.hold(j.key, `b${j.n}`, 5), j.n))
      .build();
    const e = await engine([wf]);
    const ids = Array.from({ length: 12 }, (_, n) => `pk${n}`);
    await Promise.all(ids.map((id, n) => e.start(wf, { key: `k${n % 2}`, n }, { id })));
    for (const [n, id] of ids.entries()) expect((await finished(e, id)).output).toBe(n);
    expect(Math.max(...gauge.most.values())).toBeLessThanOrEqual(2);
  });

  it("a global limit of 1 runs one run at a time", async () => {
    const gauge = new Gauge();
    const wf = flow<Job>("global-one", { concurrency: { limit: 1 } })
      .then("a", async (j) => (await gauge.hold("all", `a${j.n}`, 5), j.n))
      .build();
    const e = await engine([wf]);
    const ids = ["g0", "g1", "g2", "g3"];
    await Promise.all(ids.map((id, n) => e.start(wf, { key: "x", n }, { id })));
    for (const id of ids) expect((await finished(e, id)).status).toBe("completed");
    expect(gauge.most.get("all")).toBe(1);
  });

  it("a task's limit counts its executions across runs and branches", async () => {
    const gauge = new Gauge();
    const call = task("call-api", async (j: Job) => (await gauge.hold("api", `c${j.n}`, 5), j.n), { concurrency: { limit: 1 } });
    const wf = flow<Job>("task-limited")
      .fork([branch("x", call), branch("y", call)])
      .join("sum", (o) => o.x + o.y)
      .build();
    const e = await engine([wf]);
    await Promise.all(["t0", "t1", "t2"].map((id, n) => e.start(wf, { key: "x", n }, { id })));
    for (const [n, id] of ["t0", "t1", "t2"].entries()) expect((await finished(e, id)).output).toBe(2 * n);
    expect(gauge.most.get("api")).toBe(1);
  });

  it("a rate limit admits its limit per window; the next run waits for the window, showing the slot", async () => {
    const wf = flow<Job>("rate-limited", { rateLimit: { limit: 2, period: "400ms", key: (j) => j.key } })
      .then("a", (j) => j.n)
      .build();
    const e = await engine([wf]);
    await e.start(wf, { key: "api", n: 0 }, { id: "r0" });
    await e.start(wf, { key: "api", n: 1 }, { id: "r1" });
    expect((await finished(e, "r0")).status).toBe("completed");
    expect((await finished(e, "r1")).status).toBe("completed");
    await e.start(wf, { key: "api", n: 2 }, { id: "r2" });
    const view = await waitingForSlot(e, "r2");
    expect(view.waitingFor).toEqual([
      expect.objectContaining({ kind: "timer", reason: "slot", key: "#run", slot: "flow-rate:rate-limited:api" }),
    ]);
    await harness().advance(450);
    expect((await finished(e, "r2")).output).toBe(2);
  });

  /** Two runs of a rate-limited workflow admitted and finished: a window of 2 full. */
  const fillWindow = async (e: EngineUnderTest, wf: Workflow<Job, number>) => {
    for (const id of ["in0", "in1"]) {
      await e.start(wf, { key: "x", n: 0 }, { id });
      expect((await finished(e, id)).status).toBe("completed");
    }
  };

  it("a rate limit's waiters look again in turn: each when the window may have room for it, not all at its oldest entry's leaving", async () => {
    const wf = flow<Job>("rate-in-turn", { rateLimit: { limit: 2, period: "1h" } })
      .then("a", (j) => j.n)
      .build();
    const e = await engine([wf]);
    await fillWindow(e, wf);
    const untils: number[] = [];
    for (const id of ["w0", "w1", "w2", "w3", "w4"]) {
      await e.start(wf, { key: "x", n: 0 }, { id });
      const wait = (await waitingForSlot(e, id)).waitingFor[0];
      untils.push(wait?.kind === "timer" ? wait.until : Number.NaN);
    }
    // Two per hour: the first two look again in an hour, the next two in two, the fifth in three.
    const hoursAfterFirst = untils.map((until) => Math.floor((until - untils[0]! + 1_800_000) / 3_600_000));
    expect(hoursAfterFirst).toEqual([0, 0, 1, 1, 2]);
  });

  it("a rate limit's newcomer behind waiters that have not come back looks again when its turn comes: a period, not a lease", async () => {
    const wf = flow<Job>("rate-behind", { rateLimit: { limit: 2, period: "400ms" } })
      .then("a", (j) => j.n)
      .build();
    const e = await engine([wf]);
    await fillWindow(e, wf);
    // Two waiters, paused: they keep their place in line but do not come back once the window empties.
    for (const id of ["w0", "w1"]) {
      await e.start(wf, { key: "x", n: 0 }, { id });
      await waitingForSlot(e, id);
      await e.pause(id);
    }
    await harness().advance(450);
    // Both slots are free and the two waiters ahead may take them at any moment: its turn is the first of them free again.
    await e.start(wf, { key: "x", n: 0 }, { id: "late" });
    const view = await waitingForSlot(e, "late");
    const wait = view.waitingFor[0];
    const until = wait?.kind === "timer" ? wait.until : Number.NaN;
    expect(until).toBeGreaterThanOrEqual(view.createdAt + 400);
    expect(until).toBeLessThanOrEqual(view.updatedAt + 400);
  });

  it("a flow's concurrency and rate limits keep apart even when their keys agree: a release does not empty the rate window", async () => {
    const wf = flow<Job>("both-limits", {
      concurrency: { limit: 1, key: (j) => j.key },
      rateLimit: { limit: 2, period: "1h", key: (j) => j.key },
    })
      .then("a", (j) => j.n)
      .build();
    const e = await engine([wf]);
    // Each run took the concurrency slot and a rate admission, and gave the slot back as it finished.
    await fillWindow(e, wf);
    await e.start(wf, { key: "x", n: 2 }, { id: "third" });
    const view = await waitingForSlot(e, "third");
    expect(view.waitingFor).toEqual([expect.objectContaining({ key: "#run", slot: "flow-rate:both-limits:x" })]);
  });

  it("a freed slot is granted to the first waiter by priority, then arrival: only that run is admitted, the grant gives back", async () => {
    const control = (await engine([])).store.flowControl!;
    const limit = "task:granted";
    const ask = (run: string, priority = 0) =>
      control.admit({ limit, kind: "concurrency", max: 1, periodMs: 0, leaseMs: 30_000, holder: `${run}@1`, waiter: run, priority });
    expect(await ask("a")).toEqual({ admitted: true });
    for (const [run, priority] of [
      ["b", 0],
      ["c", 5],
      ["d", 0],
    ] as const) {
      expect(await ask(run, priority)).toMatchObject({ admitted: false });
    }
    expect(await control.release({ limit, holder: "a@1" }, 1, 30_000)).toEqual(["c"]);
    // The slot is c's: b, first of the others in line, and a newcomer of the highest priority are refused.
    expect(await ask("b")).toMatchObject({ admitted: false });
    expect(await ask("e", 1000)).toMatchObject({ admitted: false });
    expect(await ask("c")).toEqual({ admitted: true });
    expect(await control.release({ limit, holder: "c@1" }, 1, 30_000)).toEqual(["e"]);
    // A grant given back (its run waits no more) goes to the next in line.
    expect(await control.returnGrant(limit, "e", 1, 30_000)).toEqual(["b"]);
    expect(await ask("e", 1000)).toMatchObject({ admitted: false });
    expect(await ask("b")).toEqual({ admitted: true });
  });

  it("a slot granted to a run that never claims it comes back within one lease", async () => {
    const control = (await engine([])).store.flowControl!;
    const limit = "task:unclaimed";
    const leaseMs = 300;
    const ask = (run: string) =>
      control.admit({ limit, kind: "concurrency", max: 1, periodMs: 0, leaseMs, holder: `${run}@1`, waiter: run, priority: 0 });
    expect(await ask("holder")).toEqual({ admitted: true });
    expect(await ask("gone")).toMatchObject({ admitted: false });
    expect(await control.release({ limit, holder: "holder@1" }, 1, leaseMs)).toEqual(["gone"]);
    expect(await ask("late")).toMatchObject({ admitted: false });
    await harness().advance(leaseMs + 50);
    expect(await ask("late")).toEqual({ admitted: true });
  });

  it("a slot granted to a waiter that was cancelled goes to the next waiter at once", async () => {
    const release = gate();
    const wf = flow<Job>("granted-cancelled", { concurrency: { limit: 1 } })
      .then("a", async (j) => (j.n === 0 ? await release.opened : undefined, j.n))
      .build();
    const e = await engine([wf]);
    await e.start(wf, { key: "x", n: 0 }, { id: "gc0" });
    await until(e, "gc0", (v) => v.status === "running", "running");
    for (const [n, id] of ["gc1", "gc2"].entries()) {
      await e.start(wf, { key: "x", n: n + 1 }, { id });
      await waitingForSlot(e, id);
    }
    await e.cancel("gc1");
    release.open();
    // gc1 was first in line: its grant comes back as soon as its wake-up finds it cancelled, not a lease later.
    expect((await finished(e, "gc2")).output).toBe(2);
    expect((await finished(e, "gc1")).status).toBe("cancelled");
  });

  it("waiters are admitted by priority, equal priorities first come first served, each woken when a slot frees", async () => {
    const order: string[] = [];
    const release = gate();
    const wf = flow<Job>("prioritised", { concurrency: { limit: 1 }, priority: (j) => j.p ?? 0 })
      .then("a", async (j) => {
        order.push(String(j.n));
        if (j.n === 0) await release.opened;
        return j.n;
      })
      .build();
    const e = await engine([wf]);
    await e.start(wf, { key: "x", n: 0 }, { id: "p0" });
    await until(e, "p0", () => order.length === 1, "running");
    for (const [id, n, p] of [
      ["p1", 1, 0],
      ["p2", 2, 0],
      ["p3", 3, 5],
    ] as const) {
      await e.start(wf, { key: "x", n, p }, { id });
      const view = await waitingForSlot(e, id);
      expect(view.waitingFor).toEqual([expect.objectContaining({ key: "#run", slot: "flow:prioritised" })]);
    }
    release.open();
    for (const id of ["p0", "p1", "p2", "p3"]) expect((await finished(e, id)).status).toBe("completed");
    expect(order).toEqual(["0", "3", "1", "2"]);
  });

  it("a step waiting for its task's slot shows it under the step's key and holds no worker", async () => {
    const release = gate();
    const call = task("slow-api", async (j: Job) => (j.n === 0 ? await release.opened : undefined, j.n), {
      concurrency: { limit: 1, key: (j: Job) => j.key },
    });
    const wf = flow<Job>("step-waits").then(call).build();
    // One worker slot: the waiting step must not hold it, or the holder could never finish.
    const e = await engine([wf], { concurrency: 1 });
    await e.start(wf, { key: "acme", n: 0 }, { id: "w0" });
    await until(e, "w0", (v) => v.status === "running", "running");
    await e.start(wf, { key: "acme", n: 1 }, { id: "w1" });
    const view = await waitingForSlot(e, "w1");
    expect(view.waitingFor).toEqual([expect.objectContaining({ key: "slow-api", slot: "task:slow-api:acme" })]);
    release.open();
    expect((await finished(e, "w1")).output).toBe(1);
  });

  it("a key function that throws or answers a non-string fails the run at that step with a ValidationError naming it", async () => {
    const call = task("keyed", (n: number) => n, { concurrency: { limit: 1, key: () => 7 as never } });
    const runKey = flow<number>("bad-run-key", {
      concurrency: {
        limit: 1,
        key: () => {
          throw new Error("no customer");
        },
      },
    })
      .then("a", (n) => n)
      .build();
    const stepKey = flow<number>("bad-step-key").then(call).build();
    const e = await engine([runKey, stepKey]);
    await e.start(runKey, 1, { id: "bk1" });
    await e.start(stepKey, 1, { id: "bk2" });
    const first = await finished(e, "bk1");
    expect(first.status).toBe("failed");
    expect(first.error?.code).toBe("VALIDATION");
    expect(first.error?.message).toContain('flow "bad-run-key"');
    const second = await finished(e, "bk2");
    expect(second.status).toBe("failed");
    expect(second.error).toMatchObject({ code: "VALIDATION", step: "keyed" });
    expect(second.error?.message).toContain('task "keyed"');
  });
}
