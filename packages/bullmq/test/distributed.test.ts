/**
 * Worker processes on a real Redis: runs shared across processes, a worker
 * killed mid-step, a signal from another process, a lost wake-up job.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { ChildProcess } from "node:child_process";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ParkwayClient } from "../src/index.js";
import { eventually, ledgerCounts, REDIS_URL, startWorker, stopWorker, testSpace } from "./helpers.js";
import { napper, slow, waiter } from "./fixtures/workflows.mjs";
import { threeWorkersShareRuns } from "./scenarios.js";

const space = testSpace();
let redis: Redis;
let client: ParkwayClient;
const workers: ChildProcess[] = [];

beforeAll(async () => {
  redis = new Redis(REDIS_URL);
  client = new ParkwayClient({ connection: REDIS_URL, namespace: space.namespace });
});

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => stopWorker(w, "SIGKILL")));
});

afterAll(async () => {
  await client.close();
  await space.cleanup(redis);
  await redis.quit();
});

describe("WorkflowWorker processes on one Redis", () => {
  it("three workers share 500 runs of delays, signals and forks, and every step runs exactly once", async () => {
    await threeWorkersShareRuns({ client, ledger: redis, space, workers, runs: 500 });
  });

  it("a worker killed with SIGKILL mid-step: its runs finish on another worker, no committed step runs again", async () => {
    const doomed = await startWorker(space.namespace, space.ledger, ["--concurrency", "20"]);
    workers.push(doomed);
    const ids = Array.from({ length: 10 }, (_, i) => `slow-${i}`);
    await Promise.all(ids.map((id, i) => client.start(slow, i, { id })));
    await eventually(async () => {
      const views = await Promise.all(ids.map((id) => client.status(id)));
      return views.every((v) => v.steps.some((s) => s.key === "first")) || undefined;
    }, "every run to commit its first step");
    await stopWorker(doomed, "SIGKILL");
    workers.push(await startWorker(space.namespace, space.ledger));
    const results = await Promise.all(ids.map((id) => client.result(id, { timeout: "60s" })));
    expect(results).toEqual(ids.map((_, i) => (i + 1) * 10 + 5));
    const counts = await ledgerCounts(redis, space.ledger);
    for (const id of ids) {
      expect(counts.get(`${id}|first`)).toBe(1);
      expect(counts.get(`${id}|last`)).toBe(1);
    }
  });

  it("a signal sent from a separate client process wakes a run parked by a worker process", async () => {
    workers.push(await startWorker(space.namespace, space.ledger));
    await client.start(waiter, null, { id: "waiting-1" });
    await eventually(async () => (await client.status("waiting-1")).status === "parked" || undefined, "the run to park");
    const script = `
      import { ParkwayClient } from "@parkway/bullmq";
      const client = new ParkwayClient({ connection: ${JSON.stringify(REDIS_URL)}, namespace: ${JSON.stringify(space.namespace)} });
      await client.signal("waiting-1", "approved", { by: "ana" });
      await client.close();`;
    await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], { cwd: new URL("..", import.meta.url) });
    expect(await client.result("waiting-1", { timeout: "20s" })).toBe("approved by ana");
  });

  it("a deleted wake-up job is recovered by the sweeper", async () => {
    workers.push(await startWorker(space.namespace, space.ledger));
    await client.start(napper, 1, { id: "napper-1" });
    await eventually(async () => (await client.status("napper-1")).status === "parked" || undefined, "the run to park");
    const delayed = await eventually(async () => {
      const jobs = await client.wakeQueue.queue.getDelayed();
      return jobs.length > 0 ? jobs : undefined;
    }, "its delayed wake-up job");
    await Promise.all(delayed.map((job) => job.remove()));
    expect(await client.wakeQueue.queue.getDelayedCount()).toBe(0);
    expect(await client.result("napper-1", { timeout: "20s" })).toBe(2);
  });
});
