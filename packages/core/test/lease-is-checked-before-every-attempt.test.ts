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

it("a worker whose acquire answered after its lease had lapsed creates no child run, even once the run was cancelled meanwhile", async () => {
  const store = new LateAcquireStore(realClock);
  const child = flow<number>("late-child")
    .then("work", (n) => n + 1)
    .build();
  const wf = flow<number>("late-parent").child("kid", child).build();
  const options = checkpointOptions({ store, workflows: new WorkflowRegistry([wf]), clock: realClock }, { lease: 100 });
  await store.start({ id: "late-p", workflow: wf.name, hash: wf.hash, input: encode(1, { what: "input" }) });

  store.lateByMs = 300;
  const stale = advanceRun(options, "late-p");
  await sleep(20); // the acquire landed: the run is running, leased to the stale worker
  expect(await store.cancel("late-p")).toMatchObject({ immediate: false });
  await sleep(130); // its lease (100ms) lapsed while the acquire's reply was on the way
  store.lateByMs = 0;
  // The next worker applies the cancel; the parent has no child yet, so there is none to cancel.
  expect(await advanceRun(options, "late-p")).toMatchObject({ outcome: "cancelled" });
  expect(await stale).toMatchObject({ outcome: "lost" });
  // Had the stale worker gone on, its child would run on its own, its parent cancelled.
  expect((await store.list({ workflow: child.name })).runs).toEqual([]);
  const parent = (await store.get("late-p"))?.header;
  expect(parent?.status).toBe("cancelled");
  expect(parent?.children).toBeUndefined();
});
