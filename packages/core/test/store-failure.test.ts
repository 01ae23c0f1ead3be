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
