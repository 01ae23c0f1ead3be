/**
 * The sweeper re-enqueues runs whose wake-up job was lost. A backlog is not a
 * lost job: a run whose job still waits behind others must not get a second
 * job on every sweep (under load that multiplied the jobs per run and made a
 * backlog drain several times slower). A job that really was lost, before the
 * backlog formed, is still recovered.
 */
import { flow } from "@parkway/core";
import { Redis } from "ioredis";
import { afterAll, expect, it } from "vitest";
import { ParkwayClient, WorkflowWorker } from "../src/index.js";
import { REDIS_URL, testSpace } from "./helpers.js";

const space = testSpace();
const redis = new Redis(REDIS_URL);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const slow = flow<number>("backlog")
  .then("work", async (n: number) => {
    await sleep(20);
    return n;
  })
  .build();
const client = new ParkwayClient({ connection: REDIS_URL, namespace: space.namespace, workflows: [slow] });
const worker = new WorkflowWorker({
  connection: REDIS_URL,
  namespace: space.namespace,
  workflows: [slow],
  concurrency: 4,
  sweepInterval: 100,
  sweepGrace: 200,
});

afterAll(async () => {
  await worker.close();
  await client.close();
  await space.cleanup(redis);
  await redis.quit();
});

it("runs waiting in a backlog are not swept, a lost wake-up before it is", async () => {
  await client.start(slow, -1, { id: "lost" });
  await client.wakeQueue.queue.obliterate({ force: true });
  await sleep(300);
  const backlog = Array.from({ length: 100 }, (_, i) => `waiting-${i}`);
  for (const [i, id] of backlog.entries()) await client.start(slow, i, { id });
  // Every run is now overdue by more than the grace; the backlog takes the worker about half a second.
  await sleep(300);

  await worker.start();
  await Promise.all([...backlog, "lost"].map((id) => client.result(id, { timeout: "30s" })));
  expect(worker.stats.outcomes.completed).toBe(101);
  // One job per run, and the one the sweep queued for the lost run. (Once the queue is empty, a
  // sweep may still catch a run in the moment between its job being taken and the run leased:
  // at most a job or two, where sweeping the backlog added one per waiting run.)
  expect(worker.stats.jobs).toBeLessThanOrEqual(103);
});
