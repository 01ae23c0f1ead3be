/**
 * Cancels travel over pub/sub, at most once: one published while the subscriber's connection is
 * down is lost. The channel tells its gap listeners when the subscription is back, so a worker
 * asks the store about the runs it holds then, instead of at its next lease renewal.
 */
import { Redis } from "ioredis";
import { expect, it } from "vitest";
import { payload, randomNamespace, storeOn } from "./helpers.js";
import { PrivateRedis } from "./private-redis.js";

async function until(what: string, done: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !done(); i++) await new Promise((resolve) => setTimeout(resolve, 25));
  if (!done()) throw new Error(`never happened: ${what}`);
}

it("a dropped subscriber tells onCancel's gap listener once it is subscribed again, and later cancels are heard", async () => {
  // A private server: CLIENT KILL TYPE pubsub must not drop anyone else's subscribers.
  const server = await PrivateRedis.onFreePort();
  await server.start();
  const redis = new Redis(server.url);
  const admin = new Redis(server.url);
  const store = storeOn(redis, randomNamespace());
  try {
    const heard: string[] = [];
    let gaps = 0;
    await store.onCancel(
      (id) => heard.push(id),
      () => gaps++,
    );
    await store.start({ id: "before", workflow: "wf", hash: "h", input: payload("in"), signals: [] });
    expect((await store.acquire("before", 60_000)).acquired).toBe(true);
    await store.cancel("before");
    await until("the first cancel heard", () => heard.includes("before"));
    expect(gaps).toBe(0);

    expect(Number(await admin.client("KILL", "TYPE", "pubsub"))).toBeGreaterThan(0);
    await until("the gap told", () => gaps === 1);

    await store.start({ id: "after", workflow: "wf", hash: "h", input: payload("in"), signals: [] });
    expect((await store.acquire("after", 60_000)).acquired).toBe(true);
    await store.cancel("after");
    await until("the cancel after the gap heard", () => heard.includes("after"));
    expect(gaps).toBe(1);
  } finally {
    await store.close();
    redis.disconnect();
    admin.disconnect();
    await server.stop();
  }
});
