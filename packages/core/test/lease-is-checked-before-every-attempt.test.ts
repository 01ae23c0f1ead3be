import { expect, it } from "vitest";
import { advanceRun, checkpointOptions, encode, flow, MemoryStore, realClock, WorkflowRegistry } from "../src/index.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A memory store whose acquire answers late: the reply of a frozen or CPU-starved worker. */
class LateAcquireStore extends MemoryStore {
  lateByMs = 0;
  override async acquire(...args: Parameters<MemoryStore["acquire"]>): ReturnType<MemoryStore["acquire"]> {
    const acquired = await super.acquire(...args);
    await sleep(this.lateByMs);
    return acquired;
  }
}

it("a worker whose acquire answered after its lease had lapsed starts no task: the run's new owner runs it", async () => {
  const store = new LateAcquireStore(realClock);
  let ran = 0;
  const wf = flow<number>("late-acquire")
    .then("work", (n) => {
      ran++;
      return n + 1;
    })
    .build();
  const options = checkpointOptions({ store, workflows: new WorkflowRegistry([wf]), clock: realClock }, { lease: 100 });
  await store.start({ id: "late", workflow: wf.name, hash: wf.hash, input: encode(1, { what: "input" }) });

  store.lateByMs = 300;
  const stale = advanceRun(options, "late");
  await sleep(150); // the first lease (100ms) lapsed while its reply was on the way
  store.lateByMs = 0;
  expect(await advanceRun(options, "late")).toMatchObject({ outcome: "completed" });
  expect(await stale).toMatchObject({ outcome: "lost" });
  expect(ran).toBe(1);
});
