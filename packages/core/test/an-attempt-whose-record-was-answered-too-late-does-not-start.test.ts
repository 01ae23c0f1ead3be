import { expect, it } from "vitest";
import { advanceRun, checkpointOptions, encode, flow, MemoryStore, realClock, WorkflowRegistry } from "../src/index.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const LEASE_MS = 100;

/**
 * A memory store whose answers to attempt records are read a lease and more after the store gave
 * them: a worker frozen (SIGSTOP, a long GC pause) between the two. By then another worker may hold the run.
 */
class LateAnswers extends MemoryStore {
  override async startAttempt(...args: Parameters<MemoryStore["startAttempt"]>): ReturnType<MemoryStore["startAttempt"]> {
    const answer = await super.startAttempt(...args);
    await sleep(LEASE_MS + 50);
    return answer;
  }
}

it("a task attempt whose record was answered after the lease it renewed ran out does not start: the worker lets the run go", async () => {
  let ran = 0;
  const wf = flow<number>("late-record")
    .then("work", (n: number) => (ran++, n + 1))
    .build();
  const store = new LateAnswers(realClock);
  const options = checkpointOptions({ store, workflows: new WorkflowRegistry([wf]), clock: realClock }, { lease: LEASE_MS });
  await store.start({ id: "late", workflow: wf.name, hash: wf.hash, input: encode(1, { what: "input" }) });
  await expect(advanceRun(options, "late")).rejects.toThrow(/lease of run "late" had run out/);
  expect(ran).toBe(0);
  // The run was let go as it stood, to be taken over when its lease lapses: its attempt counts, nothing is committed.
  const run = await store.get("late");
  expect(run?.header).toMatchObject({ status: "running", attempts: { work: 1 } });
  expect(run?.outputs.size).toBe(0);
});
