import { describe, expect, it } from "vitest";
import { branch, createMemoryEngine, describeRun, FakeClock, flow, LoopResult, task, type StepNodeView } from "../src/index.js";

const states = (nodes: readonly StepNodeView[]): unknown =>
  nodes.map((n) => ({
    key: n.key,
    state: n.state,
    ...(n.branches.length > 0 ? { branches: Object.fromEntries(n.branches.map((b) => [b.label, states(b.steps)])) } : {}),
  }));

async function settle(clock: FakeClock, ms = 0): Promise<void> {
  await clock.advance(ms);
  await clock.advance(0);
}

describe("describeRun draws a run as its tree with each step's state", () => {
  const wf = flow<number>("tree")
    .then("start", (n) => n)
    .fork([
      branch(
        "slow",
        flow<number>("slow")
          .delay("nap", 1000)
          .then("late", (n) => n)
          .build(),
      ),
      branch(
        "fast",
        task("quick", (n: number) => n + 1),
      ),
    ])
    .join("merge", (o) => o.slow + o.fast)
    .route("parity", (n) => (n % 2 === 0 ? "even" : "odd"), ["even", "odd"] as const)
    .branch(
      "even",
      task("half", (n: number) => n / 2),
    )
    .defaultBranch(task("keep", (n: number) => n))
    .done()
    .loop("count", (n) => (n >= 3 ? LoopResult.done(n) : LoopResult.again(n + 1)), { maxIterations: 5 })
    .waitForSignal<number>("approval", "approved", { timeout: "1h" })
    .then("end", (n) => n)
    .build();

  it("shows committed, parked and not-reached steps of a parked fork", async () => {
    const clock = new FakeClock();
    const engine = createMemoryEngine({ workflows: [wf], clock });
    await engine.start(wf, 1, { id: "t1" });
    await settle(clock);
    const tree = describeRun(wf, await engine.status("t1"));
    expect(states(tree)).toEqual([
      { key: "start", state: "committed" },
      {
        key: "merge",
        state: "not-reached",
        branches: {
          slow: [
            { key: "slow/nap", state: "parked" },
            { key: "slow/late", state: "not-reached" },
          ],
          fast: [{ key: "fast/quick", state: "committed" }],
        },
      },
      {
        key: "parity",
        state: "not-reached",
        branches: {
          even: [{ key: "parity[even]/half", state: "not-reached" }],
          default: [{ key: "parity[*]/keep", state: "not-reached" }],
        },
      },
      { key: "count", state: "not-reached" },
      { key: "approval", state: "not-reached" },
      { key: "end", state: "not-reached" },
    ]);
    const nap = tree[1]!.branches[0]!.steps[0]!;
    expect(nap.wait).toMatchObject({ kind: "timer", until: clock.now() + 1000 });
    expect(nap.detail).toEqual({ kind: "delay", ms: 1000 });
    await engine.close();
  });

  it("marks the route branch taken, the loop's iterations and the signal wait", async () => {
    const clock = new FakeClock();
    const engine = createMemoryEngine({ workflows: [wf], clock });
    await engine.start(wf, 1, { id: "t2" });
    await settle(clock, 1000);
    const tree = describeRun(wf, await engine.status("t2"));
    const route = tree[2]!;
    expect(route.output).toBe("odd");
    expect(route.branches.map((b) => [b.label, b.chosen])).toEqual([
      ["even", false],
      ["default", true],
    ]);
    expect(tree[3]!.iterations.map((i) => i.key)).toEqual(["count#1"]);
    expect(tree[3]!.state).toBe("committed");
    expect(tree[4]).toMatchObject({
      key: "approval",
      state: "parked",
      detail: { kind: "awaitSignal", signal: "approved", timeoutMs: 3_600_000 },
    });
    await engine.close();
  });

  it("puts the run's error on the step that failed", async () => {
    const failing = flow<null>("failing")
      .then("ok", () => 1)
      .then("boom", () => {
        throw new Error("out of stock");
      })
      .then("never", () => 2)
      .build();
    const clock = new FakeClock();
    const engine = createMemoryEngine({ workflows: [failing], clock });
    await engine.start(failing, null, { id: "t3" });
    await settle(clock);
    const tree = describeRun(failing, await engine.status("t3"));
    expect(tree.map((n) => n.state)).toEqual(["committed", "failed", "not-reached"]);
    expect(tree[1]!.error?.message).toBe("out of stock");
    await engine.close();
  });
});

describe("describeRun draws maps as their elements, races with their winner and sub-flow loops by iteration", () => {
  it("shows each element's steps under its own key, the race's winner and the parked iteration", async () => {
    const clock = new FakeClock();
    const element = flow<number>("el")
      .delay("nap", (n) => (n === 1 ? 1000 : 0))
      .then("work", (n) => n * 2)
      .build();
    const body = flow<number>("body")
      .delay("sleep", 1000)
      .then("check", (n) => LoopResult.done(n))
      .build();
    const wf = flow<number>("shapes-tree")
      .map("each", () => [0, 1], element)
      .then("sum", (xs) => xs.length)
      .race("pick", [
        branch(
          "now",
          task("go", (n: number) => n),
        ),
        branch("later", flow<number>("l").delay("wait", "1d").build()),
      ])
      .then("out", (r) => r.output)
      .loop("poll", body, { maxIterations: 3 })
      .build();
    const engine = createMemoryEngine({ workflows: [wf], clock });
    await engine.start(wf, 0, { id: "t" });
    await settle(clock);
    let view = await engine.status("t");
    expect(states(describeRun(wf, view).slice(0, 1))).toEqual([
      {
        key: "each",
        state: "committed",
        branches: {
          "[0]": [
            { key: "each[0]/nap", state: "committed" },
            { key: "each[0]/work", state: "committed" },
          ],
          "[1]": [
            { key: "each[1]/nap", state: "parked" },
            { key: "each[1]/work", state: "not-reached" },
          ],
        },
      },
    ]);
    await settle(clock, 1000);
    view = await engine.status("t");
    const drawn = describeRun(wf, view);
    const race = drawn.find((n) => n.key === "pick")!;
    expect(race.branches.map((b) => [b.label, b.chosen])).toEqual([
      ["now", true],
      ["later", false],
    ]);
    const poll = drawn.find((n) => n.key === "poll")!;
    expect(poll.state).toBe("parked");
    expect(states(poll.branches[0]!.steps)).toEqual([
      { key: "poll#1/sleep", state: "parked" },
      { key: "poll#1/check", state: "not-reached" },
    ]);
    await engine.close();
  });
});
