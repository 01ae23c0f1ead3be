/**
 * Which wake-up jobs a run remembers, on the real Redis: only delayed ones, so
 * they can be removed once the run is over. A job due now is taken at once by a
 * worker (which finds the run cancelled), so recording it would only cost a
 * round trip and a key per run.
 */
import { ROOT_CONTEXT } from "@opentelemetry/api";
import { ConnectionWatch, RedisStore } from "@parkway/redis";
import { silentLogger } from "@parkway/core";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { QueueWaker } from "../src/waker.js";
import { REDIS_URL, testSpace } from "./helpers.js";

const space = testSpace();
const redis = new Redis(REDIS_URL);
let waker: QueueWaker;
let store: RedisStore;

beforeAll(() => {
  waker = new QueueWaker(REDIS_URL, space.namespace, new ConnectionWatch(silentLogger));
  store = new RedisStore({ connection: REDIS_URL, namespace: space.namespace });
});

afterAll(async () => {
  await waker.close();
  await store.close();
  await space.cleanup(redis);
  await redis.quit();
});

const recordKey = (id: string) => `{${space.namespace}}:wakes:${id}`;

describe("wake-up records", () => {
  it("a wake-up due now adds its job and records nothing", async () => {
    await waker.wake("now-run", { reason: "start", version: 1, dueAt: null, trace: ROOT_CONTEXT });
    expect(await waker.queue.getJobCountByTypes("wait")).toBeGreaterThan(0);
    expect(await redis.exists(recordKey("now-run"))).toBe(0);
  });

  it("a delayed wake-up is recorded; once its run is cancelled, the sweep's removeStale removes its job", async () => {
    await store.start({ id: "later-run", workflow: "w", hash: "h", input: new Uint8Array([0xc0]) });
    // Five minutes ahead: within the horizon, so it gets its job now (a far timer waits in the store).
    await waker.wake("later-run", { reason: "timer", version: 3, dueAt: 300_000, now: 0, trace: ROOT_CONTEXT });
    const [jobId] = await redis.smembers(recordKey("later-run"));
    expect(jobId).toBeDefined();
    expect(await waker.queue.getJob(jobId!)).toBeDefined();
    await store.cancel("later-run");
    expect(await redis.exists(recordKey("later-run"))).toBe(0);
    expect(await waker.queue.getJob(jobId!)).toBeDefined();
    expect(await waker.removeStale(0)).toBe(1);
    expect(await waker.queue.getJob(jobId!)).toBeUndefined();
    expect(await waker.removeStale(0)).toBe(0);
  });

  it("a delayed wake-up's job is a small hash: every field fits Redis's listpack encoding", async () => {
    await waker.wake("lean-run", { reason: "timer", version: 12, dueAt: 540_000.75, now: 0.5, trace: ROOT_CONTEXT });
    const [jobId] = await redis.smembers(recordKey("lean-run"));
    const jobKey = `{${space.namespace}}:bull:wake:${jobId!}`;
    expect(await redis.hget(jobKey, "delay")).toBe("540001");
    expect(await redis.object("ENCODING", jobKey)).toBe("listpack");
  });

  it("a wake-up a worker asks with the store's clock (a fraction of a millisecond) is recorded with its TTL", async () => {
    await waker.wake("fraction-run", { reason: "timer", version: 4, dueAt: 1_500.25, now: 900.5, trace: ROOT_CONTEXT });
    expect(await redis.scard(recordKey("fraction-run"))).toBe(1);
    const ttl = await redis.pttl(recordKey("fraction-run"));
    expect(ttl).toBeGreaterThan(24 * 3_600_000);
    expect(ttl).toBeLessThanOrEqual(24 * 3_600_000 + 600);
  });
});
