/** The tree renderer on every node kind, from runs of the embedded engine (no Redis, no processes). */
import { branch, createMemoryEngine, describeRun, FakeClock, flow, LoopResult, task } from "@parkway/core";
import { describe, expect, it } from "vitest";
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
        "├─ ✓ task start  committed  output 1 · 1 attempt",
        "├─ ✓ fork merge  committed  output 3 · 1 attempt",
        "│  ├─ branch slow",
        "│  │  ├─ ✓ delay slow/nap  committed  delay 1s",
        "│  │  └─ ✓ task slow/late  committed  output 1 · 1 attempt",
        "│  └─ branch fast",
        "│     └─ ✓ task fast/quick  committed  output 2 · 1 attempt",
        '├─ ✓ route parity  committed  chose "odd"',
        "│  ├─ branch even (not taken)",
        "│  │  └─ ○ task parity[even]/half  not reached",
        "│  └─ branch default (taken)",
        "│     └─ ✓ task parity[*]/keep  committed  output 3 · 1 attempt",
        "├─ ✓ loop count  committed  done 4 after 2 iterations",
        "│  └─ ✓ count#2  committed  done 4 · 1 attempt",
        '├─ ◷ signal approval  parked  waits for signal "approved", times out at 2026-01-01 01:00:01Z (in 1h)',
        "└─ ○ task end  not reached",
      ].join("\n"),
    );
  });
});
