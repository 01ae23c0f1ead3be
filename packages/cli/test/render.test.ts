/** The tree renderer on every node kind, from runs of the embedded engine (no Redis, no processes). */
import { branch, createMemoryEngine, describeRun, FakeClock, flow, LoopResult, task } from "@parkway/core";
import { describe, expect, it } from "vitest";
import { renderHistory } from "../src/render/history.js";
import { renderRun } from "../src/render/run.js";

const wf = flow<number>("kinds")
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
  .loop("count", (n) => (n >= 4 ? LoopResult.done(n) : LoopResult.again(n + 1)), { maxIterations: 5 })
  .waitForSignal<number>("approval", "approved", { timeout: "1h" })
  .then("end", (n) => n)
  .build();

async function rendered(advanceMs: number): Promise<string> {
  const clock = new FakeClock(Date.UTC(2026, 0, 1));
  const engine = createMemoryEngine({ workflows: [wf], clock });
  await engine.start(wf, 1, { id: "r1" });
  await clock.advance(0);
  await clock.advance(advanceMs);
  await clock.advance(0);
  const view = await engine.status("r1");
  await engine.close();
  return renderRun(view, { tree: describeRun(wf, view) }, clock.now());
}

describe("the status tree", () => {
  it("draws a route's taken branch, a loop's iterations and a parked signal wait", async () => {
    const text = await rendered(1000);
    const tree = text.slice(text.indexOf("kinds\n"));
    // States line up in one column.
    const columns = tree.split("\n").flatMap((line) => {
      const at = line.search(/ (committed|parked|not reached) /);
      return at === -1 ? [] : [at];
    });
    expect(new Set(columns).size).toBe(1);
    expect(tree.replace(/([^\s│]) {2,}/g, "$1  ")).toBe(
      [
        "kinds",
        "├─ ✓ task start  committed  output 1 · 1 attempt · took 0ms",
        "├─ ✓ fork merge  committed  output 3 · 1 attempt · took 0ms",
        "│  ├─ branch slow",
        "│  │  ├─ ✓ delay slow/nap  committed  delay 1s · took 1s",
        "│  │  └─ ✓ task slow/late  committed  output 1 · 1 attempt · took 0ms",
        "│  └─ branch fast",
        "│     └─ ✓ task fast/quick  committed  output 2 · 1 attempt · took 0ms",
        '├─ ✓ route parity  committed  chose "odd" · took 0ms',
        "│  ├─ branch even (not taken)",
        "│  │  └─ ○ task parity[even]/half  not reached",
        "│  └─ branch default (taken)",
        "│     └─ ✓ task parity[*]/keep  committed  output 3 · 1 attempt · took 0ms",
        "├─ ✓ loop count  committed  done 4 after 2 iterations · took 0ms",
        "│  └─ ✓ count#2  committed  done 4 · 1 attempt · took 0ms",
        '├─ ◷ signal approval  parked  waits for signal "approved", times out at 2026-01-01 01:00:01Z (in 1h)',
        "└─ ○ task end  not reached",
      ].join("\n"),
    );
  });
});

describe("a run waiting for a slot", () => {
  it("names the limit it waits for", async () => {
    const clock = new FakeClock(Date.UTC(2026, 0, 1));
    let open!: () => void;
    const opened = new Promise<void>((resolve) => (open = resolve));
    const wf = flow<number>("one-at-a-time", { concurrency: { limit: 1 } })
      .then("work", async (n) => (n === 0 ? await opened : undefined, n))
      .build();
    const engine = createMemoryEngine({ workflows: [wf], clock });
    await engine.start(wf, 0, { id: "r0" });
    await engine.start(wf, 1, { id: "r1" });
    let view = await engine.status("r1");
    for (let i = 0; i < 100 && view.status !== "parked"; i++) {
      await clock.advance(0);
      await new Promise((resolve) => setTimeout(resolve, 5));
      view = await engine.status("r1");
    }
    const text = renderRun(view, { tree: describeRun(wf, view) }, clock.now());
    open();
    await engine.close();
    expect(text).toContain('#run: waits for a slot of "flow:one-at-a-time"');
  });
});

describe("the status header", () => {
  it("shows the progress of a running step, and which steps a failed run undid or could not", async () => {
    const clock = new FakeClock(Date.UTC(2026, 0, 1));
    let finish!: () => void;
    const held = new Promise<void>((resolve) => (finish = resolve));
    const saga = flow<number>("saga")
      .then(task("reserve", (n: number) => n, { compensate: () => {} }))
      .then(
        task("charge", (n: number) => n, {
          compensate: () => {
            throw new Error("refund refused");
          },
        }),
      )
      .then("ship", async (_n: number, ctx) => {
        ctx.heartbeat({ loaded: 3 });
        await held;
        throw new Error("no truck");
      })
      .build();
    const engine = createMemoryEngine({ workflows: [saga], clock });
    await engine.start(saga, 1, { id: "s1" });
    let view = await engine.status("s1");
    for (let i = 0; i < 100 && view.progress.ship === undefined; i++) {
      await clock.advance(0);
      view = await engine.status("s1");
    }
    expect(renderRun(view, { tree: describeRun(saga, view) }, clock.now())).toContain(`Progress   ship: {"loaded":3}`);
    finish();
    for (let i = 0; i < 100 && view.status !== "failed"; i++) {
      await clock.advance(0);
      view = await engine.status("s1");
    }
    await engine.close();
    const text = renderRun(view, { tree: describeRun(saga, view) }, clock.now());
    expect(text).toContain("Not undone charge: Error: refund refused");
    expect(text).toContain("Undone     reserve");
  });
});

describe("timings and errors", () => {
  /** A run of `wf` on input 0 on a fake clock, advanced `steps` times by `stepMs` (to let backoffs pass), as `status` and `history` see it. */
  async function runOf(wf: ReturnType<typeof flaky>, steps: number, stepMs: number) {
    const clock = new FakeClock(Date.UTC(2026, 0, 1));
    const engine = createMemoryEngine({ workflows: [wf], clock, holdRetriesUpTo: "1s" });
    await engine.start(wf, 0, { id: "f1" });
    for (let i = 0; i < steps; i++) {
      await clock.advance(0);
      await new Promise((resolve) => setTimeout(resolve, 2));
      await clock.advance(stepMs);
    }
    await clock.advance(0);
    const view = await engine.status("f1");
    const events = await engine.history("f1");
    await engine.close();
    return { view, events, now: clock.now(), text: renderRun(view, { tree: describeRun(wf, view) }, clock.now()) };
  }

  /** Fails its first `failures` attempts, each backoff `backoffMs`. */
  function flaky(failures: number, backoffMs: number) {
    return flow<number>("flaky")
      .then(
        "charge",
        (n: number, ctx) => {
          if (ctx.attempt <= failures) throw new TypeError(`declined ${ctx.attempt}`);
          return n;
        },
        { retry: { maxAttempts: 3, backoff: { initial: backoffMs, factor: 1, max: backoffMs } } },
      )
      .build();
  }

  it("a step committed after retries shows how long it took and why it last failed", async () => {
    const { text } = await runOf(flaky(2, 250), 6, 250);
    expect(text).toMatch(/^Status\s+completed/m);
    expect(text).toContain("└─ ✓ task charge  committed  output 0 · 3 attempts · took 500ms · attempt 2 failed: TypeError: declined 2");
  });

  it("a step waiting to retry says why, in the header and in the tree", async () => {
    const { text } = await runOf(flaky(1, 3_600_000), 2, 0);
    expect(text).toMatch(/^Waiting\s+charge: retries at 2026-01-01 01:00:00Z \(in 1h\) after attempt 1 failed: TypeError: declined 1$/m);
    expect(text).toMatch(/└─ ◷ task charge\s+parked\s+retries at .* · attempt 1 failed: TypeError: declined 1$/m);
  });

  it("history is a table of events, oldest first, with each failure's error and retry time", async () => {
    const { events, now } = await runOf(flaky(1, 3_600_000), 2, 0);
    expect(renderHistory("f1", events, now).split("\n")).toEqual([
      "TIME                      EVENT            STEP    DETAIL",
      "2026-01-01 00:00:00.000Z  started",
      "2026-01-01 00:00:00.000Z  retry.scheduled  charge  attempt 1 failed: TypeError: declined 1; retries at 2026-01-01 01:00:00.000Z",
      "2026-01-01 00:00:00.000Z  parked                   charge: retries at 2026-01-01 01:00:00Z (in 1h)",
    ]);
    expect(renderHistory("none", [], now)).toBe("Run none has no recorded events.");
  });
});

describe("buffered signals", () => {
  it("the header lists the signals not taken yet, with when each was sent, and the tree counts them at the wait that takes them", async () => {
    const clock = new FakeClock(Date.UTC(2026, 0, 1));
    const wf = flow<number>("early-signals").waitForSignal<string>("first", "go").waitForSignal<unknown>("second", "later").build();
    const engine = createMemoryEngine({ workflows: [wf], clock });
    await engine.start(wf, 1, { id: "b1" });
    await clock.advance(0);
    await engine.signal("b1", "later", { n: 1 });
    await clock.advance(2000);
    await engine.signal("b1", "later", "x".repeat(5000));
    const view = await engine.status("b1");
    await engine.close();
    const text = renderRun(view, { tree: describeRun(wf, view) }, clock.now());
    expect(text).toContain(`Buffered   2 signals not taken yet: "later" ×2`);
    expect(text).toMatch(/^Signal {5}"later" {2}sent 2026-01-01 00:00:00Z \(2s ago\) · \d+ B · \{"n":1\}$/m);
    expect(text).toMatch(/^Signal {5}"later" {2}sent 2026-01-01 00:00:02Z \(now\) · 500\d B · payload not shown$/m);
    expect(text).toMatch(/└─ ○ signal second\s+not reached\s+signal "later", no timeout, 2 buffered$/m);
    expect(text).not.toMatch(/^Finished/m);
  });
});
