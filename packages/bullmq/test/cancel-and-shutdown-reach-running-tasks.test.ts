/**
 * Cancel and shutdown reach the code a WorkflowWorker is running: a cancel
 * asked from another connection aborts the task's `ctx.signal` through the
 * store's cancel channel; close() releases a run at its step boundary for
 * another worker, and a task that ignores its abort does not hold it.
 */
import { flow, ValidationError, type Workflow } from "@parkway/core";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ParkwayClient, WorkflowWorker } from "../src/index.js";
import { eventually, REDIS_URL, testSpace } from "./helpers.js";

const space = testSpace();
let redis: Redis;
let client: ParkwayClient;
const workers: WorkflowWorker[] = [];

beforeAll(() => {
  redis = new Redis(REDIS_URL);
  client = new ParkwayClient({ connection: REDIS_URL, namespace: space.namespace });
});

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.close()));
});

afterAll(async () => {
  await client.close();
  await space.cleanup(redis);
  await redis.quit();
});

const worker = async (workflows: readonly Workflow<never, unknown>[], extra = {}) => {
  const w = new WorkflowWorker({
    connection: REDIS_URL,
    namespace: space.namespace,
    workflows,
    sweepInterval: 200,
    sweepGrace: 100,
    ...extra,
  });
  workers.push(w);
  await w.start();
  return w;
};

describe("cancel and shutdown on a WorkflowWorker", () => {
  it("cancel from another connection aborts a running task's ctx.signal (before any lease renewal); the run ends cancelled", async () => {
    let aborted: unknown = null;
    let after = 0;
    const wf = flow<null>("cancel-signal")
      .then("hold", (_: null, ctx) => {
        return new Promise<number>((_resolve, reject) =>
          ctx.signal.addEventListener("abort", () => ((aborted = ctx.signal.reason), reject(ctx.signal.reason as Error))),
        );
      })
      .then("after", () => ++after)
      .build();
    // The default 30s lease renews every 10s: an abort seen sooner came through the cancel channel.
    await worker([wf]);
    await client.start(wf, null, { id: "cancel-1" });
    await eventually(async () => (await client.status("cancel-1")).status === "running", "the run to be running");
    await client.cancel("cancel-1");
    await eventually(async () => aborted !== null, "ctx.signal to abort", 5_000);
    expect(aborted).toMatchObject({ code: "CANCELLED" });
    const view = await eventually(
      async () => {
        const v = await client.status("cancel-1");
        return v.status === "cancelled" && v;
      },
      "the run to end cancelled",
      5_000,
    );
    expect(view.steps).toEqual([]);
    expect(after).toBe(0);
  });

  it("close() returns within the grace though a task ignores its abort; another worker resumes the run, committed steps not re-run", async () => {
    const calls = { first: 0, stubborn: 0, last: 0 };
    let lateFinish!: (n: number) => void;
    const wf = flow<null>("close-release")
      .then("first", () => ++calls.first)
      .then("stubborn", () =>
        ++calls.stubborn === 1 ? new Promise<number>((resolve) => (lateFinish = resolve)) : Promise.resolve(calls.stubborn),
      )
      .then("last", (n) => (++calls.last, n * 10))
      .build();
    const leaving = await worker([wf], { shutdownGrace: 200 });
    await client.start(wf, null, { id: "close-1" });
    await eventually(async () => calls.stubborn === 1, "the stubborn step to start");
    await leaving.close(); // would wait for ever for the stubborn task without the grace
    workers.splice(workers.indexOf(leaving), 1);
    lateFinish(1);
    expect((await client.status("close-1")).status).toBe("running");
    await worker([wf]);
    expect(await client.result("close-1", { timeout: "10s" })).toBe(20);
    expect(calls).toEqual({ first: 1, stubborn: 2, last: 1 });
  });

  it("out-of-range and unknown options are refused, naming the option", () => {
    const base = { connection: REDIS_URL, namespace: space.namespace, workflows: [] };
    expect(() => new WorkflowWorker({ ...base, lease: 0 })).toThrow(ValidationError);
    expect(() => new WorkflowWorker({ ...base, lease: 0 })).toThrow(/lease must be between 50ms and 1d/);
    expect(() => new WorkflowWorker({ ...base, sweepInterval: 0 })).toThrow(/sweepInterval must be between 100ms and 1h/);
    expect(() => new WorkflowWorker({ ...base, concurrency: 0 })).toThrow(/concurrency must be an integer between 1 and 10000/);
    expect(() => new WorkflowWorker({ ...base, shutdownGrace: "2h" })).toThrow(/shutdownGrace/);
    expect(() => new WorkflowWorker({ ...base, maxPayloadBytes: -1 })).toThrow(/maxPayloadBytes/);
    expect(() => new WorkflowWorker({ ...base, leese: "30s" } as never)).toThrow(/unknown option "leese"/);
  });
});
