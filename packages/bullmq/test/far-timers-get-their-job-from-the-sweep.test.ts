/**
 * A run parked beyond the store's timer horizon gets no wake-up job: it waits in its partition's
 * timers index, and a worker's sweep adds its job once it comes within reach, so it still wakes
 * on time. Real Redis, a real worker.
 */
import { ROOT_CONTEXT } from "@opentelemetry/api";
import { flow } from "@parkway/core";
import { TIMER_HORIZON_MS } from "@parkway/redis";
import { Redis } from "ioredis";
import { afterAll, expect, it } from "vitest";
import { ParkwayClient, WorkflowWorker } from "../src/index.js";
import { REDIS_URL, testSpace } from "./helpers.js";

const space = testSpace();
const redis = new Redis(REDIS_URL);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const napper = flow<number>("napper")
  .then("before", (n: number) => n)
  .delay("nap", (n: number) => n)
  .then("after", (n: number) => n + 1)
  .build();
const client = new ParkwayClient({ connection: REDIS_URL, namespace: space.namespace, workflows: [napper] });
// A grace of a minute: a run woken on time was woken by its job, not by the sweep of overdue runs.
const worker = new WorkflowWorker({
  connection: REDIS_URL,
  namespace: space.namespace,
  workflows: [napper],
  sweepInterval: 100,
  sweepGrace: "1m",
});
const timersKey = client.store.keys.timers;

afterAll(async () => {
  await worker.close();
  await client.close();
  await space.cleanup(redis);
  await redis.quit();
});

async function statusOf(id: string, status: string): Promise<void> {
  for (let i = 0; i < 200 && (await client.status(id)).status !== status; i++) await sleep(25);
  expect((await client.status(id)).status).toBe(status);
}

it("the wake-up queue adds no job for a far timer or delayed start, and one for a near timer", async () => {
  const queue = client.wakeQueue;
  const before = await queue.queue.getDelayedCount();
  const now = Date.now();
  await queue.wake("far", { reason: "timer", version: 2, dueAt: now + TIMER_HORIZON_MS + 120_000, now, trace: ROOT_CONTEXT });
  await queue.wake("far-start", { reason: "start", version: 1, dueAt: now + 2 * TIMER_HORIZON_MS, now, trace: ROOT_CONTEXT });
  expect(await queue.queue.getDelayedCount()).toBe(before);
  await queue.wake("near", { reason: "timer", version: 2, dueAt: now + 60_000, now, trace: ROOT_CONTEXT });
  expect(await queue.queue.getDelayedCount()).toBe(before + 1);
  await queue.queue.obliterate({ force: true });
});

it("a run sleeping for an hour holds no job; cancelled, it leaves nothing behind", async () => {
  await worker.start();
  await client.start(napper, 3_600_000, { id: "sleeper" });
  await statusOf("sleeper", "parked");
  expect(await client.wakeQueue.queue.getDelayedCount()).toBe(0);
  expect(await redis.zscore(timersKey, "sleeper")).not.toBeNull();
  expect(await redis.exists(client.store.keys.wakes("sleeper"))).toBe(0);
  await client.cancel("sleeper");
  expect(await redis.zcard(timersKey)).toBe(0);
});

it("a far timer coming within reach is promoted by the sweep and wakes its run on time", async () => {
  // A run parked on a 3 s nap, its job lost, in the timers index as a far timer would be by now.
  await client.start(napper, 3_000, { id: "promoted" });
  await statusOf("promoted", "parked");
  const dueAt = (await client.status("promoted")).dueAt!;
  await client.wakeQueue.queue.obliterate({ force: true });
  await redis.zadd(timersKey, dueAt, "promoted");

  expect(await client.result("promoted", { timeout: "20s" })).toBe(3_001);
  const woke = (await client.history("promoted")).find((event) => event.type === "woke");
  expect(woke?.at).toBeGreaterThanOrEqual(dueAt);
  // On time: far sooner than the overdue sweep's minute of grace.
  expect(woke!.at - dueAt).toBeLessThan(2_000);
  expect(await redis.zcard(timersKey)).toBe(0);
});
