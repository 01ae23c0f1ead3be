import { expect, it } from "vitest";
import { advanceRun, checkpointOptions, encode, flow, MemoryStore, realClock, WorkflowRegistry } from "../src/index.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A memory store whose acquire answers late, and whose attempt records (which renew the lease before
 * each attempt) wait for a gate: a slow Redis.
 */
class SlowStore extends MemoryStore {
  lateAcquireMs = 0;
  touchGate: Promise<void> = Promise.resolve();
  touches = 0;
  override async acquire(...args: Parameters<MemoryStore["acquire"]>): ReturnType<MemoryStore["acquire"]> {
    const acquired = await super.acquire(...args);
    await sleep(this.lateAcquireMs);
    return acquired;
  }
  override async startAttempt(...args: Parameters<MemoryStore["startAttempt"]>): ReturnType<MemoryStore["startAttempt"]> {
    this.touches++;
    await this.touchGate;
    return super.startAttempt(...args);
  }
}

it("an attempt whose lease renewal was on its way when shutdown began does not start: the run is released", async () => {
  const store = new SlowStore(realClock);
  let ran = 0;
  const wf = flow<number>("renewing-at-shutdown")
    .then("work", (n) => {
      ran++;
      return n + 1;
    })
    .build();
  const options = checkpointOptions({ store, workflows: new WorkflowRegistry([wf]), clock: realClock }, { lease: 100 });
  await store.start({ id: "renewing", workflow: wf.name, hash: wf.hash, input: encode(1, { what: "input" }) });

  // The acquire answers after half the lease: the first attempt renews the lease before it starts.
  store.lateAcquireMs = 60;
  let open!: () => void;
  store.touchGate = new Promise((resolve) => (open = resolve));
  const advancing = advanceRun(options, "renewing");
  while (store.touches === 0) await sleep(5);
  // Shutdown begins while that renewal is on its way.
  const draining = options.inFlight.drain();
  open();
  expect(await advancing).toMatchObject({ outcome: "released" });
  await draining;
  expect(ran).toBe(0);
});
