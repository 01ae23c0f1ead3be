/**
 * Promises only the Redis store has to keep: fencing of stale writers,
 * constant write cost per commit, the eviction-policy warning, scripts that
 * survive SCRIPT FLUSH, payload limits and corrupted headers.
 */
import { CodecError, PayloadTooLargeError, StaleVersionError } from "@parkway/core";
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import type { RedisStore } from "../src/index.js";
import { measureCommit } from "./commit-cost.js";
import { dumpNamespace, keysOf, payload, randomNamespace, storeOn, useStore } from "./helpers.js";
import { PrivateRedis } from "./private-redis.js";

const LEASE = 60_000;
const ns = randomNamespace();
let redis: Redis;
let store: RedisStore;

useStore(ns, (r, s) => {
  redis = r;
  store = s;
});

/**
 * Runs `fn` on a redis-server of its own: MONITOR there sees only this test's commands (on the
 * shared server it streams every concurrent test's, faster than a closing monitor can drain), and
 * CONFIG SET changes no one else's server.
 */
async function onPrivateRedis(fn: (redis: Redis) => Promise<void>): Promise<void> {
  const server = await PrivateRedis.onFreePort();
  await server.start();
  const own = new Redis(server.url);
  try {
    await fn(own);
  } finally {
    own.disconnect();
    await server.stop();
  }
}

async function acquired(s: RedisStore, id: string, leaseMs = LEASE): Promise<number> {
  const got = await s.acquire(id, leaseMs);
  if (!got.acquired) throw new Error(`not acquired: ${got.reason}`);
  return got.run.header.version;
}

it("a stale writer (a worker whose lease expired) is rejected and changes nothing", async () => {
  await store.start({ id: "fenced", workflow: "wf", hash: "h", input: payload("in") });
  const old = await acquired(store, "fenced", 0); // lease expires at once: another worker takes over
  const current = await acquired(store, "fenced");
  await store.signal("fenced", "go", payload("p"));
  const before = await dumpNamespace(redis, ns);
  const attempts = [
    () => store.commit("fenced", old, "a", payload("x"), 1, LEASE),
    () => store.takeSignal("fenced", old, "a", "go", null, LEASE),
    () => store.park("fenced", old, [{ kind: "timer", key: "t", reason: "delay", delayMs: 1 }], {}),
    () => store.finish("fenced", old, { status: "completed", result: payload("r") }),
    () => store.block("fenced", old, { name: "E", message: "m" }, 1),
    () => store.touch("fenced", old, LEASE),
  ];
  for (const attempt of attempts) {
    await expect(attempt()).rejects.toMatchObject({
      code: StaleVersionError.code,
      context: { instanceId: "fenced", expected: old, actual: current },
    });
  }
  expect(await dumpNamespace(redis, ns)).toEqual(before);
});

it("the bytes a commit writes do not grow with the run's length", async () => {
  await onPrivateRedis(async (own) => {
    const s = storeOn(own, ns);
    await s.start({ id: "run-one", workflow: "wf", hash: "h", input: payload("in") });
    await s.start({ id: "run-100", workflow: "wf", hash: "h", input: payload("in") });
    const oneVersion = await acquired(s, "run-one");
    let version = await acquired(s, "run-100");
    for (let i = 1; i < 100; i++) {
      const result = await s.commit("run-100", version, `step-${String(i).padStart(3, "0")}`, payload("o".repeat(1000)), 1, LEASE);
      version = result.version;
    }
    const first = await measureCommit(own, ns, () => s.commit("run-one", oneVersion, "step-001", payload("o".repeat(1000)), 1, LEASE));
    const hundredth = await measureCommit(own, ns, () => s.commit("run-100", version, "step-100", payload("o".repeat(1000)), 1, LEASE));
    await s.close();
    if (process.env.PARKWAY_REPORT) console.log(JSON.stringify({ first, hundredth }, null, 2));
    // A full history (HISTORY_LIMIT events) drops its oldest event as it records one: one LTRIM, as many at step 1000.
    expect(hundredth.commands).toEqual(first.commands.flatMap((c) => (c === "rpush" ? ["rpush", "ltrim"] : [c])));
    // At most the version number grows a digit or two: nothing proportional to the 99 outputs before.
    expect(hundredth.bytesWritten - first.bytesWritten).toBeLessThanOrEqual(4);
    // The 1000-byte output, its key, the header fields (the version, a handover's, has 16 digits, written twice:
    // the header and the commit order), the step's attempt record and its history event (about 160 bytes).
    expect(first.bytesWritten).toBeLessThan(1480);
  });
});

it("warns when Redis may evict keys (maxmemory-policy other than noeviction)", async () => {
  await onPrivateRedis(async (redis) => {
    const [, original] = (await redis.config("GET", "maxmemory-policy")) as [string, string];
    const warnings: string[] = [];
    try {
      await redis.config("SET", "maxmemory-policy", "allkeys-lru");
      const s = storeOn(redis, ns, { onWarning: (m) => warnings.push(m) });
      await s.get("anything");
      await s.get("anything");
      await s.close();
    } finally {
      await redis.config("SET", "maxmemory-policy", original);
    }
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/maxmemory-policy is "allkeys-lru".*noeviction/);

    const quiet: string[] = [];
    const s = storeOn(redis, ns, { onWarning: (m) => quiet.push(m) });
    await s.get("anything");
    expect(quiet).toEqual(original === "noeviction" ? [] : [expect.any(String)]);
  });
});

it("scripts survive SCRIPT FLUSH between two operations", async () => {
  await store.start({ id: "flushed", workflow: "wf", hash: "h", input: payload("in") });
  await redis.script("FLUSH");
  expect((await store.acquire("flushed", LEASE)).acquired).toBe(true);
  await redis.script("FLUSH");
  expect((await store.get("flushed"))?.header.status).toBe("running");
});

describe("payload limit", () => {
  it("a payload over the limit raises PayloadTooLargeError and writes nothing", async () => {
    const small = storeOn(redis, ns, { maxPayloadBytes: 8 });
    await expect(small.start({ id: "big", workflow: "wf", hash: "h", input: payload("123456789") })).rejects.toMatchObject({
      code: PayloadTooLargeError.code,
      context: { instanceId: "big", bytes: 9, limit: 8 },
    });
    expect(await small.get("big")).toBeNull();
    await small.start({ id: "small", workflow: "wf", hash: "h", input: payload("12345678") });
    const version = await acquired(small, "small");
    const before = await dumpNamespace(redis, ns);
    await expect(small.commit("small", version, "a", payload("too long!"), 1, LEASE)).rejects.toBeInstanceOf(PayloadTooLargeError);
    await expect(small.signal("small", "go", payload("too long!"))).rejects.toBeInstanceOf(PayloadTooLargeError);
    await expect(small.finish("small", version, { status: "completed", result: payload("too long!") })).rejects.toBeInstanceOf(
      PayloadTooLargeError,
    );
    await expect(small.takeSignal("small", version, "a", "go", payload("too long!"), LEASE)).rejects.toBeInstanceOf(PayloadTooLargeError);
    expect(await dumpNamespace(redis, ns)).toEqual(before);
  });
});

describe("corrupted headers", () => {
  it("give CodecError naming the run, and other runs are unaffected", async () => {
    await store.start({ id: "broken", workflow: "wf", hash: "h", input: payload("in") });
    await store.start({ id: "healthy", workflow: "wf", hash: "h", input: payload("in") });
    await redis.hset(store.keys.header("broken"), "waits", "{not json");
    await expect(store.get("broken")).rejects.toMatchObject({ code: CodecError.code, context: { instanceId: "broken", field: "waits" } });
    await expect(store.signal("broken", "go", payload("p"))).rejects.toMatchObject({
      code: CodecError.code,
      context: { instanceId: "broken" },
    });
    await redis.hset(store.keys.header("broken"), "waits", "[]", "status", "exploded");
    await expect(store.get("broken")).rejects.toThrow(/run "broken" is corrupted: field "status"/);
    expect((await store.acquire("healthy", LEASE)).acquired).toBe(true);
    expect((await store.get("healthy"))?.header.status).toBe("running");
  });
});

it("every key of a namespace carries its hash tag (one Redis Cluster slot)", async () => {
  await store.start({ id: "tag:{x}", workflow: "w{f}", hash: "h", input: payload("in") });
  await store.signal("tag:{x}", "n}", payload("p"));
  const keys = await keysOf(redis, ns);
  expect(keys.length).toBeGreaterThan(8);
  for (const key of keys) expect(key.startsWith(`{${ns}}:`)).toBe(true);
});
