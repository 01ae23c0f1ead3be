import { describe, expect, it } from "vitest";
import { createMemoryEngine, FakeClock, flow, MemoryStore } from "../src/index.js";

/** A memory store whose next commit fails as a dropped connection would. */
class FlakyStore extends MemoryStore {
  failNextCommit = false;
  override async commit(...args: Parameters<MemoryStore["commit"]>): ReturnType<MemoryStore["commit"]> {
    if (this.failNextCommit) {
      this.failNextCommit = false;
      throw new Error("Connection is closed.");
    }
    return super.commit(...args);
  }
}

describe("a store failure is not the run's failure", () => {
  it("a commit lost to a dropped connection leaves the run to be taken up again, not failed", async () => {
    const clock = new FakeClock();
    const store = new FlakyStore(clock);
    const errors: unknown[] = [];
    let runs = 0;
    const wf = flow<number>("flaky-store")
      .then("work", (n) => {
        runs++;
        return n + 1;
      })
      .build();
    const engine = createMemoryEngine({ workflows: [wf], clock, store, lease: 1000, onError: (e) => errors.push(e) });
    store.failNextCommit = true;
    await engine.start(wf, 1, { id: "f1" });
    await clock.advance(0);
    expect((await engine.status("f1")).status).toBe("running");
    expect(errors).toHaveLength(1);
    await clock.advance(1500);
    expect(await engine.result("f1")).toBe(2);
    expect(runs).toBe(2);
    await engine.close();
  });
});

/** A memory store whose `startAttempt` waits for `gate` once it is set. */
class SlowAttemptStore extends MemoryStore {
  gate: Promise<void> | null = null;
  recording = false;
  override async startAttempt(...args: Parameters<MemoryStore["startAttempt"]>): ReturnType<MemoryStore["startAttempt"]> {
    this.recording = true;
    if (this.gate) await this.gate;
    return super.startAttempt(...args);
  }
}

describe("a shutdown that begins while an attempt is recorded", () => {
  it("starts no task: the run is released and the attempt given back", async () => {
    const clock = new FakeClock();
    const store = new SlowAttemptStore(clock);
    let open!: () => void;
    store.gate = new Promise((resolve) => (open = resolve));
    let ran = 0;
    const wf = flow<number>("late-shutdown")
      .then("work", (n) => (ran++, n + 1))
      .build();
    const engine = createMemoryEngine({ workflows: [wf], clock, store, lease: 1000 });
    await engine.start(wf, 1, { id: "s1" });
    await clock.advance(0);
    expect(store.recording).toBe(true);
    const closed = engine.close();
    open();
    await closed;
    expect(ran).toBe(0);
    const run = await store.get("s1");
    expect(run?.header.attempts).toEqual({ work: 0 });
    expect(run?.header.dueAt).toBe(clock.now());
  });
});
