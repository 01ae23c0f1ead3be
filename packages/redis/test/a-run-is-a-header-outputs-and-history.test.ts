/**
 * The key layout: a run is its header (plain fields, and each step's attempts as `a:<key>` fields),
 * its outputs hash (with the input and result under `#input` / `#result`), its history and its
 * attempt records, and nothing else while it waits for a signal. The names that share a hash must
 * never be mistaken for each other, and no repair stops at a run's size.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, expect, it } from "vitest";
import { UnknownStepError } from "@parkway/core";
import type { RedisStore } from "../src/index.js";
import { dropNamespace, keysOf, payload, randomNamespace, REDIS_URL, storeOn, textOf } from "./helpers.js";

let redis: Redis;
let store: RedisStore;
const ns = randomNamespace();

beforeAll(() => {
  redis = new Redis(REDIS_URL);
  store = storeOn(redis, ns);
});
afterAll(async () => {
  await store.close();
  await dropNamespace(redis, ns);
  redis.disconnect();
});

/** Starts `id`, commits `keys` in order (one attempt each) and returns the version it holds. */
async function commitAll(id: string, keys: readonly string[]): Promise<number> {
  await store.start({ id, workflow: "w", hash: "h", input: payload("the input") });
  const got = await store.acquire(id, 60_000);
  if (!got.acquired) throw new Error("not acquired");
  let version = got.run.header.version;
  for (const key of keys) {
    await store.startAttempt(id, version, key, 1, 60_000);
    version = (await store.commit(id, version, key, payload(`out ${key}`), 1, 60_000)).version;
  }
  return version;
}

it("a run parked on a signal after a step is three keys: header, outputs (with the attempt records) and history", async () => {
  const version = await commitAll("p1", ["a"]);
  await store.park("p1", version, [{ kind: "signal", key: "wait", signal: "go", timeoutMs: null }], { wait: 1 });
  const own = (await keysOf(redis, ns)).filter((key) => key.endsWith(":p1"));
  expect(own).toEqual([`{${ns}}:hist:p1`, `{${ns}}:out:p1`, `{${ns}}:run:p1`]);
  expect((await redis.hkeys(store.keys.header("p1"))).filter((field) => field.includes(":")).sort()).toEqual(["a:a", "a:wait"]);
  expect((await redis.hkeys(store.keys.outputs("p1"))).sort()).toEqual(["#input", "#tries:a", "#tries:wait", "a"]);
  const run = await store.get("p1");
  expect(textOf(run?.input)).toBe("the input");
  expect([...(run?.outputs.keys() ?? [])]).toEqual(["a"]);
  expect(run?.header.attempts).toEqual({ a: 1, wait: 1 });
  const records = await store.attemptRecords("p1");
  expect([...records.keys()].sort()).toEqual(["a", "wait"]);
  expect(records.get("wait")).toEqual([{ attempt: 1, startedAt: expect.any(Number), finishedAt: null, error: null }]);
  // A committed step's event, the one every step writes, is kept as [at, key, attempt].
  const stored = await redis.lrange(store.keys.history("p1"), 0, -1);
  expect(stored.map((entry) => entry[0])).toEqual(["{", "[", "{"]);
  const committed = JSON.parse(stored[1]!) as [number, string, number];
  expect(committed.slice(1)).toEqual(["a", 1]);
  const events = await store.history("p1");
  expect(events?.map((event) => event.type)).toEqual(["started", "step.committed", "parked"]);
  expect(events?.[1]).toEqual({ at: committed[0], type: "step.committed", key: "a", attempt: 1 });
});

it("a header keeps no empty field, and reads one stored empty (as earlier versions wrote them) as absent", async () => {
  const version = await commitAll("lean", ["a"]);
  await store.park("lean", version, [{ kind: "signal", key: "wait", signal: "go", timeoutMs: null }], { wait: 1 });
  const plain = (await redis.hkeys(store.keys.header("lean"))).filter((field) => !field.includes(":")).sort();
  expect(plain).toEqual(["createdAt", "hash", "lastCommit", "signals", "status", "updatedAt", "version", "waits", "workflow"]);
  const before = await store.get("lean");
  expect(before?.header).toMatchObject({ error: null, requested: null, dueAt: null });
  expect(before?.header).not.toHaveProperty("startAt");
  expect(before?.header).not.toHaveProperty("finishedAt");
  // Empty fields stored as "" read the same, and the next write that empties one deletes it.
  await redis.hset(store.keys.header("lean"), { error: "", requested: "", startAt: "", finishedAt: "" });
  const stored = await store.get("lean");
  expect(stored?.header).toEqual(before?.header);
  await store.signal("lean", "go", payload("now"));
  const woke = await store.acquire("lean", 60_000);
  expect(woke.acquired).toBe(true);
  expect(await redis.hmget(store.keys.header("lean"), "error", "requested")).toEqual([null, null]);
});

it("a pause taken back before the run's next boundary leaves no empty request in the header", async () => {
  const version = await commitAll("unpause", ["a"]);
  await store.pause("unpause");
  expect(await redis.hget(store.keys.header("unpause"), "requested")).toBe("pause");
  await store.resume("unpause");
  expect(await redis.hexists(store.keys.header("unpause"), "requested")).toBe(0);
  expect((await store.get("unpause"))?.header.requested).toBeNull();
  // The run goes on: its next commit finds nothing requested.
  await store.startAttempt("unpause", version, "b", 1, 60_000);
  const next = await store.commit("unpause", version, "b", payload("out b"), 1, 60_000);
  expect(next).toEqual({ ok: true, version: expect.any(Number) });
});

it("a malformed committed step's event is refused as corrupted history", async () => {
  await commitAll("bad-history", []);
  await redis.rpush(store.keys.history("bad-history"), '[1796128765160,"a"]');
  await expect(store.history("bad-history")).rejects.toThrow(
    /history of run "bad-history" is corrupted: a committed step's event is malformed/,
  );
});

it("steps named like header fields keep their own attempts, records and outputs", async () => {
  const names = ["status", "version", "workflow", "a", "t", "#input-like"];
  await commitAll("named", names);
  const run = await store.get("named");
  expect(run?.header.status).toBe("running");
  expect(run?.header.workflow).toBe("w");
  expect(run?.header.attempts).toEqual(Object.fromEntries(names.map((name) => [name, 1])));
  expect([...(run?.outputs.keys() ?? [])].sort()).toEqual([...names].sort());
  expect(textOf(run?.input)).toBe("the input");
  expect([...(await store.attemptRecords("named")).keys()].sort()).toEqual([...names].sort());
  expect(await store.commitOrder("named")).toEqual(names);
});

it("the commit order follows the commits, a loop's replaced iterations left out", async () => {
  await store.start({ id: "order", workflow: "w", hash: "h", input: payload("in") });
  const got = await store.acquire("order", 60_000);
  if (!got.acquired) throw new Error("not acquired");
  let version = got.run.header.version;
  for (const [key, replaces] of [
    ["z", []],
    ["loop#1", []],
    ["loop#2", ["loop#1"]],
    ["b", []],
  ] as const) {
    version = (await store.commit("order", version, key, payload(key), 1, 60_000, replaces)).version;
  }
  expect(await store.commitOrder("order")).toEqual(["z", "loop#2", "b"]);
});

it("a run's outputs come in commit order, also once the outputs hash outgrows the order Redis keeps", async () => {
  const keys = ["k", "c", "x", "a", "q", "e", "m", "b", "z", "f"];
  await commitAll("big", keys);
  // An attempt record with an error, over 64 bytes: Redis now keeps the hash as a table, in an order of its own.
  const got = await store.acquire("big", 60_000);
  if (got.acquired) throw new Error("acquired while leased");
  await store.startAttempt("big", (await store.get("big"))!.header.version, "late", 1, 60_000);
  const failed = [{ key: "late", attempt: 1, error: { name: "Error", message: "x".repeat(200) }, agoMs: 0, retryInMs: 10 }];
  await store.touch("big", (await store.get("big"))!.header.version, 60_000, failed);
  expect(await redis.object("ENCODING", store.keys.outputs("big"))).toBe("hashtable");
  expect([...((await store.get("big"))?.outputs.keys() ?? [])]).toEqual(keys);
});

it("the input and result are no step: a rewind to them or a migration renaming them is refused", async () => {
  await commitAll("payloads", ["a"]);
  await expect(store.rewind("payloads", "#input", { refs: ["a"], loops: [] })).rejects.toThrow(UnknownStepError);
  await expect(store.migrate("payloads", "h2", { refs: ["a"], loops: [] }, { "#input": "b" })).rejects.toThrow(UnknownStepError);
  expect(textOf((await store.get("payloads"))?.input)).toBe("the input");
});

it("a rewind or a retry of a run with thousands of steps drops them all", async () => {
  const elements = Array.from({ length: 3_000 }, (_, i) => `m[${i}]`);
  const version = await commitAll("wide", ["first"]);
  let at = version;
  for (const key of elements) at = (await store.commit("wide", at, key, payload(key), 1, 60_000)).version;
  await store.rewind("wide", "m[0]", { refs: ["m[]"], loops: [] });
  expect((await redis.hkeys(store.keys.outputs("wide"))).sort()).toEqual(["#input", "#tries:first", "first"]);
  expect((await redis.hkeys(store.keys.header("wide"))).filter((field) => field.startsWith("a:"))).toEqual(["a:first"]);

  await store.start({ id: "wide-failed", workflow: "w", hash: "h", input: payload("in") });
  const got = await store.acquire("wide-failed", 60_000);
  if (!got.acquired) throw new Error("not acquired");
  for (const key of elements) await store.startAttempt("wide-failed", got.run.header.version, key, 1, 60_000);
  await store.finish("wide-failed", got.run.header.version, { status: "failed", error: { name: "Error", message: "gave up" } });
  await store.retry("wide-failed");
  expect((await store.get("wide-failed"))?.header.attempts).toEqual({});
  expect(await redis.hkeys(store.keys.outputs("wide-failed"))).toEqual(["#input"]);
});
