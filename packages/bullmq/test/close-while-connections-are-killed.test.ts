/**
 * A worker closed while its connections are being killed (a proxy or a
 * failover dropping them, `CLIENT KILL`) still closes: it releases the run in
 * flight at its step boundary and resolves soon after the shutdown grace,
 * even when close() is called while its connections wait to reconnect.
 * Runs on a private redis-server: the shared one's clients are never killed.
 */
import { flow } from "@parkway/core";
import { Redis } from "ioredis";
import { afterAll, beforeAll, expect, it } from "vitest";
import { PrivateRedis } from "../../redis/test/private-redis.js";
import { ParkwayClient, WorkflowWorker } from "../src/index.js";
import { eventually } from "./helpers.js";

let redis: PrivateRedis;
let admin: Redis;

beforeAll(async () => {
  redis = await PrivateRedis.onFreePort();
  await redis.start();
  admin = new Redis(redis.url);
});

afterAll(async () => {
  admin.disconnect();
  await redis.stop();
});

/** Every client of the private server but `admin`: subscribers too. */
async function killOtherClients(): Promise<void> {
  await admin.client("KILL", "TYPE", "normal", "SKIPME", "yes");
  await admin.client("KILL", "TYPE", "pubsub");
}

it("close() resolves soon after the grace while every connection of the worker is killed over and over", async () => {
  let calls = 0;
  // The first attempt holds until aborted; the next one (on another worker) returns.
  const hold = flow<null>("killed-hold")
    .then("hold", (_: null, ctx) => {
      if (++calls > 1) return Promise.resolve(calls);
      return new Promise<number>((_resolve, reject) => ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason as Error)));
    })
    .build();
  const options = { connection: redis.url, workflows: [hold], namespace: "killed", shutdownGrace: 300 };
  // No sweep in flight when close() is called: close() reaches the queue's workers at once.
  const worker = new WorkflowWorker({ ...options, sweepInterval: "1h" });
  const client = new ParkwayClient({ connection: redis.url, namespace: "killed" });
  await worker.start();
  await client.start(hold, null, { id: "held" });
  await eventually(async () => calls === 1, "the task to start");

  // Connections come back 1s after they are dropped: each kill leaves them reconnecting.
  let killing = true;
  const killer = (async () => {
    while (killing) {
      await killOtherClients().catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  })();
  // close() while the worker's connections (its queue's blocking one among them) wait to reconnect.
  await new Promise((resolve) => worker.store.redis.once("reconnecting", resolve));
  await new Promise((resolve) => setTimeout(resolve, 100));
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    worker.close().then(() => "closed"),
    new Promise((resolve) => (timer = setTimeout(() => resolve("still closing after 20s"), 20_000))),
  ]);
  clearTimeout(timer);
  killing = false;
  await killer;
  expect(outcome).toBe("closed");
  expect(worker.closePending).toBeNull();
  // Released at its step boundary, not left to its 30s lease: another worker resumes it at once.
  const next = new WorkflowWorker(options);
  try {
    await next.start();
    expect(await client.result<number>("held", { timeout: "10s" })).toBe(2);
  } finally {
    await next.close();
    await client.close();
  }
}, 60_000);
