/**
 * A committed step costs the store one write: the next step's first attempt, or the run's end,
 * rides on the commit before it. These prove that it does, and that riding gives up nothing: no
 * attempt starts before the commit before it is written and its answer is read in time.
 */
import { expect, it } from "vitest";
import { advanceRun, checkpointOptions, encode, flow, MemoryStore, realClock, WorkflowRegistry, type Workflow } from "../src/index.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const LEASE_MS = 100;

/** A memory store that counts its writes and can fail or delay the answers of its commits. */
class WatchedStore extends MemoryStore {
  readonly calls: string[] = [];
  /** Commits from this one on (1-based) fail as a dropped connection would. */
  failCommitsFrom = Number.POSITIVE_INFINITY;
  /** Commits from this one on are answered a lease and more after they were applied (a frozen worker). */
  lateCommitsFrom = Number.POSITIVE_INFINITY;
  private commits = 0;

  override async commit(...args: Parameters<MemoryStore["commit"]>): ReturnType<MemoryStore["commit"]> {
    const then = args[8];
    this.calls.push(then === undefined ? "commit" : "startAttempt" in then ? "commit+attempt" : "commit+complete");
    const n = ++this.commits;
    if (n >= this.failCommitsFrom) throw new Error("Connection is closed.");
    const answer = await super.commit(...args);
    if (n >= this.lateCommitsFrom) await sleep(LEASE_MS + 50);
    return answer;
  }

  override async startAttempt(...args: Parameters<MemoryStore["startAttempt"]>): ReturnType<MemoryStore["startAttempt"]> {
    this.calls.push("startAttempt");
    return super.startAttempt(...args);
  }

  override async finish(...args: Parameters<MemoryStore["finish"]>): ReturnType<MemoryStore["finish"]> {
    this.calls.push("finish");
    return super.finish(...args);
  }

  override async park(...args: Parameters<MemoryStore["park"]>): ReturnType<MemoryStore["park"]> {
    this.calls.push("park");
    return super.park(...args);
  }
}

/** Steps a then b; `ranB` counts b's runs. */
function twoSteps(name: string) {
  const counts = { ranB: 0 };
  const wf = flow<number>(name)
    .then("a", (n: number) => n + 1)
    .then("b", (n: number) => (counts.ranB++, n + 1))
    .build();
  return { wf, counts };
}

/** Step a, then a wait: a signal's, or a delay of an hour. */
function stepThenWait(name: string, wait: "signal" | "delay") {
  const a = flow<number>(name).then("a", (n: number) => n + 1);
  return (wait === "signal" ? a.waitForSignal("w", "go") : a.delay("nap", "1h")).build();
}

async function setUp(wf: Workflow<number, unknown>, id: string) {
  const store = new WatchedStore(realClock);
  const options = checkpointOptions({ store, workflows: new WorkflowRegistry([wf]), clock: realClock }, { lease: LEASE_MS });
  await store.start({ id, workflow: wf.name, hash: wf.hash, input: encode(1, { what: "input" }) });
  return { store, advance: () => advanceRun(options, id) };
}

it("a linear run writes each commit once: the next attempt and the run's end ride on the commit before them", async () => {
  const wf = flow<number>("three")
    .then("a", (n: number) => n + 1)
    .then("b", (n: number) => n + 1)
    .then("c", (n: number) => n + 1)
    .build();
  const { store, advance } = await setUp(wf, "three-1");
  expect(await advance()).toEqual({ outcome: "completed" });
  expect(store.calls).toEqual(["startAttempt", "commit+attempt", "commit+attempt", "commit+complete"]);
  const run = await store.get("three-1");
  expect(run?.header).toMatchObject({ status: "completed", attempts: { a: 1, b: 1, c: 1 } });
  const records = await store.attemptRecords("three-1");
  for (const key of ["a", "b", "c"]) expect(records.get(key)?.[0]).toMatchObject({ attempt: 1, finishedAt: expect.any(Number) });
});

it("a step before a wait commits on its own, then the run parks", async () => {
  const { store, advance } = await setUp(stepThenWait("then-wait", "signal"), "wait-1");
  expect(await advance()).toMatchObject({ outcome: "parked" });
  expect(store.calls).toEqual(["startAttempt", "commit", "park"]);
});

it("an attempt riding on a commit whose answer was read after its lease ran out does not start", async () => {
  const { wf, counts } = twoSteps("late-ride");
  const { store, advance } = await setUp(wf, "late-1");
  store.lateCommitsFrom = 1;
  await expect(advance()).rejects.toThrow(/lease of run "late-1" had run out/);
  expect(counts.ranB).toBe(0);
  // Step a is committed and b's attempt counts, as after a worker that died once b started.
  const run = await store.get("late-1", { outputs: true });
  expect(run?.header).toMatchObject({ status: "running", attempts: { a: 1, b: 1 } });
  expect([...(run?.outputs.keys() ?? [])]).toEqual(["a"]);
});

it("a commit that cannot be written starts no next step, and the run is left to be taken up again", async () => {
  const { wf, counts } = twoSteps("lost-ride");
  const { store, advance } = await setUp(wf, "lost-1");
  store.failCommitsFrom = 1;
  await expect(advance()).rejects.toThrow(/Connection is closed/);
  expect(counts.ranB).toBe(0);
  const run = await store.get("lost-1", { outputs: true });
  expect(run?.header.status).toBe("running");
  expect(run?.outputs.size).toBe(0);
});

it("a commit that cannot be written before a wait leaves the run unparked, to be taken up again", async () => {
  const { store, advance } = await setUp(stepThenWait("lost-before-wait", "delay"), "lost-2");
  store.failCommitsFrom = 1;
  await expect(advance()).rejects.toThrow(/Connection is closed/);
  expect(store.calls).toEqual(["startAttempt", "commit"]);
  expect((await store.get("lost-2"))?.header.status).toBe("running");
});

it("a cancel the commit answers stops the run before the next attempt that would ride on it", async () => {
  let ranB = 0;
  const wf = flow<number>("cancel-ride")
    .then("a", async (n: number) => {
      // Asked while a runs: the commit of a applies it.
      await store.cancel("cancel-1");
      return n + 1;
    })
    .then("b", (n: number) => (ranB++, n + 1))
    .build();
  const { store, advance } = await setUp(wf, "cancel-1");
  expect(await advance()).toEqual({ outcome: "cancelled" });
  expect(ranB).toBe(0);
  expect(store.calls).toEqual(["startAttempt", "commit+attempt"]);
  expect((await store.get("cancel-1"))?.header.attempts).toEqual({ a: 1 });
});
