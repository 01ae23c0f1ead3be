import { expect, it } from "vitest";
import {
  advanceRun,
  CancelledError,
  checkpointOptions,
  encode,
  flow,
  MemoryStore,
  realClock,
  WorkflowRegistry,
  type Workflow,
} from "../src/index.js";
import { taskContext } from "../src/executors/context.js";
import { runStep } from "../src/semantics/retry.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A memory store whose record of an attempt of step `gatedKey` waits for a gate: a slow Redis. */
class GatedStore extends MemoryStore {
  gatedKey = "";
  gate: Promise<void> = Promise.resolve();
  waiting = 0;
  override async startAttempt(...args: Parameters<MemoryStore["startAttempt"]>): ReturnType<MemoryStore["startAttempt"]> {
    if (args[2] === this.gatedKey) {
      this.waiting++;
      await this.gate;
    }
    return super.startAttempt(...args);
  }
}

/** A task that notes it ran, then waits for its abort (or 2s). */
function hanging(ran: { count: number }) {
  return async (n: number, ctx: { signal: AbortSignal }) => {
    ran.count++;
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, 2000);
      ctx.signal.addEventListener("abort", () => (clearTimeout(timer), resolve(undefined)), { once: true });
    });
    return n;
  };
}

async function setUp(wf: Workflow<number, unknown>, id: string, gatedKey: string) {
  const store = new GatedStore(realClock);
  store.gatedKey = gatedKey;
  let open!: () => void;
  store.gate = new Promise((resolve) => (open = resolve));
  const options = checkpointOptions({ store, workflows: new WorkflowRegistry([wf]), clock: realClock }, { lease: 10_000 });
  await store.start({ id, workflow: wf.name, hash: wf.hash, input: encode(1, { what: "input" }) });
  return { store, open, advancing: advanceRun(options, id) };
}

it("an attempt whose run timed out while the attempt was being recorded does not start: the run fails with RUN_TIMEOUT", async () => {
  const ran = { count: 0 };
  const wf = flow<number>("times-out-while-recording", { timeout: 50 }).then("work", hanging(ran)).build();
  const { store, open, advancing } = await setUp(wf, "timed-out", "work");
  while (store.waiting === 0) await sleep(5);
  // The deadline passes while the attempt's record is on its way.
  await sleep(100);
  open();
  expect(await advancing).toMatchObject({ outcome: "failed" });
  expect((await store.get("timed-out"))?.header.error?.code).toBe("RUN_TIMEOUT");
  expect(ran.count).toBe(0);
});

it("an attempt whose scope aborted while it was being recorded (a race branch that lost meanwhile) does not start", async () => {
  const scope = new AbortController();
  let ran = 0;
  const attempt = runStep({
    key: "slow/hang",
    input: 1,
    options: { maxAttempts: 3, backoff: { initialMs: 0, factor: 1, maxMs: 0 }, timeoutMs: null },
    clock: realClock,
    signal: scope.signal,
    // The other branch wins while this attempt's record is on its way.
    beforeAttempt: async () => scope.abort(new CancelledError('branch of race "pick" cancelled: branch "fast" won')),
    fn: () => ++ran,
    context: (n, signal) => taskContext("raced", "raced", "slow/hang", n, signal),
  });
  await expect(attempt).rejects.toMatchObject({ code: "CANCELLED" });
  expect(ran).toBe(0);
});
