/**
 * Retention on Redis, key by key: a live run's keys never carry a TTL; a
 * finished run's keys (its history and attempt records included) expire after
 * its retention and the sweep's trim takes its index entries, leaving the
 * namespace as it was; a run sent on again (retry) loses its TTL; a deleted or
 * purged run leaves no key. A finished run is in its partition's finish indexes
 * until it goes or is sent on. A loop keeps one output field however long it runs.
 */
import { Redis } from "ioredis";
import { expect, it } from "vitest";
import type { RedisStore } from "../src/index.js";
import { keysOf, payload, randomNamespace, useStore } from "./helpers.js";

const ns = randomNamespace();
let redis: Redis;
let store: RedisStore;

useStore(ns, (r, s) => {
  redis = r;
  store = s;
});

/** Every key of the namespace that belongs to run `id`, with its PTTL. */
async function keysOfRun(id: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const key of await keysOf(redis, ns)) if (key.endsWith(`:${id}`) || key.includes(`:${id}:`)) out[key] = await redis.pttl(key);
  return out;
}

/** Run `id`'s steps: `a:<key>` for its header's attempts fields, `t:<key>` for its attempt records (`#tries:<key>` of its outputs hash), sorted. */
async function stepFields(id: string): Promise<string[]> {
  const attempts = (await redis.hkeys(store.keys.header(id))).filter((field) => field.startsWith("a:"));
  const records = (await redis.hkeys(store.keys.outputs(id))).filter((field) => field.startsWith("#tries:"));
  return [...attempts, ...records.map((field) => `t:${field.slice("#tries:".length)}`)].sort();
}

/** The fields of run `id`'s outputs hash that are not attempt records, sorted. */
async function outputFields(id: string): Promise<string[]> {
  return (await redis.hkeys(store.keys.outputs(id))).filter((field) => !field.startsWith("#tries:")).sort();
}

/** Index sorted sets that still name `id`. */
async function indexesNaming(id: string): Promise<string[]> {
  const found: string[] = [];
  for (const key of await keysOf(redis, ns)) {
    if ((await redis.type(key)) !== "zset") continue;
    const members = await redis.zrange(key, 0, -1);
    if (members.some((m) => m === id || m.includes(`"${id}"`))) found.push(key);
  }
  return found;
}

async function runToEnd(id: string, status: "completed" | "failed", workflow = "ret"): Promise<void> {
  await store.start({ id, workflow, hash: "h", input: payload("in") });
  await store.signal(id, "stray", payload("s"), `d-${id}`);
  const got = await store.acquire(id, 60_000);
  if (!got.acquired) throw new Error("not acquired");
  const committed = await store.commit(id, got.run.header.version, "a", payload("out"), 1, 60_000);
  const end = status === "completed" ? { status, result: payload("r") } : { status, error: { name: "Error", message: "no" } };
  await store.finish(id, committed.version, end);
}

it("a live run's keys have no TTL; a finished run's expire after its retention and the trim leaves no index entry", async () => {
  await store.setRetention("ret", { completed: 150 });
  await store.start({ id: "live", workflow: "ret", hash: "h", input: payload("in") });
  await store.signal("live", "later", payload("s"), "d-live");
  await runToEnd("done", "completed");

  const live = await keysOfRun("live");
  expect(Object.keys(live).length).toBeGreaterThanOrEqual(4);
  for (const [key, ttl] of Object.entries(live)) {
    // The delivery-id hash expires on its own (24h) clock; everything else of a live run never does.
    if (!key.includes(":delivered:")) expect([key, ttl]).toEqual([key, -1]);
  }
  const done = await keysOfRun("done");
  expect(Object.keys(done)).toEqual(expect.arrayContaining([store.keys.header("done"), store.keys.history("done")]));
  for (const [key, ttl] of Object.entries(done)) {
    expect(ttl, key).toBeGreaterThan(0);
    expect(ttl, key).toBeLessThanOrEqual(150);
  }

  await new Promise((resolve) => setTimeout(resolve, 200));
  expect(await keysOfRun("done")).toEqual({});
  expect((await indexesNaming("done")).length).toBeGreaterThan(0); // expiry cannot remove sorted-set members
  expect((await store.trimExpired(100)).trimmed).toBe(1);
  expect(await indexesNaming("done")).toEqual([]);
  expect(await store.counts()).toMatchObject({ completed: 0, pending: 1 });
  expect(Object.keys(await keysOfRun("live")).length).toBe(Object.keys(live).length);
});

it("a failed run sent on by retry loses its TTL and leaves the retention index", async () => {
  await store.setRetention(null, { failed: 60_000 });
  await runToEnd("fixed", "failed");
  expect(await redis.pttl(store.keys.header("fixed"))).toBeGreaterThan(0);
  expect(await redis.zcard(store.keys.expiring)).toBe(1);
  await store.retry("fixed");
  for (const [key, ttl] of Object.entries(await keysOfRun("fixed")))
    if (!key.includes(":delivered:")) expect([key, ttl]).toEqual([key, -1]);
  expect(await redis.zcard(store.keys.expiring)).toBe(0);
  await expect(store.retry("fixed")).rejects.toMatchObject({ code: "RUN_STATE", context: { status: "pending" } });
});

it("\"forever\" sets no TTL; a workflow's override wins over the namespace's", async () => {
  await store.setRetention(null, { completed: null });
  await store.setRetention("ret", {});
  await runToEnd("forever", "completed");
  expect(await redis.pttl(store.keys.header("forever"))).toBe(-1);
  await store.setRetention("ret", { completed: 60_000 });
  await runToEnd("override", "completed");
  expect(await redis.pttl(store.keys.header("override"))).toBeGreaterThan(50_000);
});

it("a loop iteration's commit replaces the one before: one output field after 500 iterations", async () => {
  await store.start({ id: "loop", workflow: "ret", hash: "h", input: payload("in") });
  const got = await store.acquire("loop", 60_000);
  if (!got.acquired) throw new Error("not acquired");
  let version = got.run.header.version;
  for (let i = 1; i <= 500; i++) {
    const replaces = i > 1 ? [`poll#${i - 1}`] : [];
    version = (await store.commit("loop", version, `poll#${i}`, payload(`v${i}`), 1, 60_000, replaces)).version;
  }
  expect(await outputFields("loop")).toEqual(["#input", "poll#500"]);
  expect(await stepFields("loop")).toEqual(["a:poll#500", "t:poll#500"]);
  expect(await redis.llen(store.keys.history("loop"))).toBe(100);
});

it("a commit replaces several keys at once (an iteration of a sub-flow body), outputs and attempts", async () => {
  await store.start({ id: "sub", workflow: "ret", hash: "h", input: payload("in") });
  const got = await store.acquire("sub", 60_000);
  if (!got.acquired) throw new Error("not acquired");
  let version = got.run.header.version;
  for (const key of ["poll#1/a", "poll#1/b", "poll#2/a", "poll#2/b"]) {
    version = (await store.commit("sub", version, key, payload(key), 1, 60_000)).version;
  }
  // The commit also carries a failed attempt of a step it replaces: its record goes with the step.
  const failed = [{ key: "poll#1/b", attempt: 2, error: { name: "Error", message: "late" }, agoMs: 0, retryInMs: null }];
  await store.commit("sub", version, "poll#3/a", payload("3a"), 1, 60_000, ["poll#1/a", "poll#1/b"], failed);
  expect(await outputFields("sub")).toEqual(["#input", "poll#2/a", "poll#2/b", "poll#3/a"]);
  const kept = ["poll#2/a", "poll#2/b", "poll#3/a"];
  expect(await stepFields("sub")).toEqual([...kept.map((key) => `a:${key}`), ...kept.map((key) => `t:${key}`)]);
});

it("purge walks in bounded batches and deletes every match", async () => {
  await store.setRetention(null, {});
  for (let i = 0; i < 30; i++) await runToEnd(`p${i}`, i % 3 === 0 ? "failed" : "completed");
  let deleted = 0;
  let batches = 0;
  for (let offset: number | null = 0; offset !== null; batches++) {
    const batch = await store.purge({ status: "completed", offset, limit: 7 });
    deleted += batch.deleted;
    offset = batch.next;
  }
  expect(deleted).toBe(20 + 2); // the 20 here, and the two kept runs of the test above
  expect(batches).toBeGreaterThan(3);
  expect(await store.counts()).toMatchObject({ completed: 0, failed: 10 });
});

it("a purge of one workflow leaves a run started again under the id of one of its runs in another workflow", async () => {
  await store.setRetention(null, {});
  await runToEnd("reused", "completed", "purged-old");
  // Its keys expired, and the sweep has not yet trimmed its index entries; the id is used again.
  await redis.del(store.keys.header("reused"), store.keys.outputs("reused"), store.keys.history("reused"));
  await runToEnd("reused", "completed", "purged-new");
  let offset: number | null = 0;
  let deleted = 0;
  while (offset !== null) {
    const batch = await store.purge({ status: "completed", workflow: "purged-old", offset, limit: 10 });
    deleted += batch.deleted;
    offset = batch.next;
  }
  expect(deleted).toBe(0);
  expect((await store.get("reused"))?.header.workflow).toBe("purged-new");
  expect(await redis.zscore(store.keys.workflowStatus("purged-old", "completed"), "reused")).toBeNull();
});

it("a run's record of its wake-up jobs moves to the stale set when it finishes, or when it is deleted", async () => {
  await store.setRetention("wakes", { completed: 150 });
  // The wake-up queue keeps the record; the sweep removes the jobs named in the stale set.
  await store.start({ id: "finished", workflow: "wakes", hash: "h", input: payload("in") });
  await redis.sadd(store.keys.wakes("finished"), "timer-finished");
  await runToEnd("finished", "completed", "wakes");
  expect(await redis.exists(store.keys.wakes("finished"))).toBe(0);
  // A record added after the run finished (a late wake-up) goes when the run is deleted.
  await redis.sadd(store.keys.wakes("finished"), "timer-late");
  await store.delete("finished");
  expect(await redis.exists(store.keys.wakes("finished"))).toBe(0);
  expect((await redis.smembers(store.keys.staleWakes)).sort()).toEqual(["timer-finished", "timer-late"]);
  await redis.del(store.keys.staleWakes);
  await store.start({ id: "expired", workflow: "wakes", hash: "h", input: payload("in") });
  await runToEnd("expired", "completed", "wakes");
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect(await keysOfRun("expired")).toEqual({});
  expect((await store.trimExpired(100)).trimmed).toBe(1);
});

it("a deleted, purged or restarted run leaves no key of its own behind, its history and attempt records included", async () => {
  await store.setRetention(null, {});
  for (const id of ["gone-deleted", "gone-purged", "gone-restarted"]) await runToEnd(id, "failed");
  for (const id of ["gone-deleted", "gone-purged"]) {
    expect(Object.keys(await keysOfRun(id))).toEqual(expect.arrayContaining([store.keys.header(id), store.keys.history(id)]));
    expect(await stepFields(id)).not.toEqual([]);
  }
  await store.delete("gone-deleted");
  let offset: number | null = 0;
  while (offset !== null) offset = (await store.purge({ status: "failed", offset, limit: 100 })).next;
  for (const id of ["gone-deleted", "gone-purged"]) {
    expect(await keysOfRun(id)).toEqual({});
    expect(await store.history(id)).toBeNull();
    expect((await store.attemptRecords(id)).size).toBe(0);
  }
  await store.restart({ id: "gone-restarted", workflow: "ret", hash: "h", input: payload("again") });
  expect((await store.history("gone-restarted"))?.map((e) => e.type)).toEqual(["started"]);
  expect((await store.attemptRecords("gone-restarted")).size).toBe(0);
});

it("a finished run is in its finish indexes, scored when it finished, until it is sent on, deleted, purged or restarted", async () => {
  await store.setRetention(null, {});
  const finishIndexes = (id: string, status: "completed" | "failed") =>
    [store.keys.finishStatus(status), store.keys.workflowFinishStatus("fin", status)].map((key) => redis.zscore(key, id));
  for (const id of ["fin-kept", "fin-retried", "fin-deleted", "fin-purged", "fin-restarted"]) await runToEnd(id, "failed", "fin");
  for (const id of ["fin-kept", "fin-retried", "fin-deleted", "fin-purged", "fin-restarted"]) {
    const finishedAt = await redis.hget(store.keys.header(id), "finishedAt");
    expect(Number(finishedAt)).toBeGreaterThan(0);
    expect(await Promise.all(finishIndexes(id, "failed"))).toEqual([finishedAt, finishedAt]);
  }
  await store.retry("fin-retried");
  expect(await Promise.all(finishIndexes("fin-retried", "failed"))).toEqual([null, null]);
  expect(await redis.hget(store.keys.header("fin-retried"), "finishedAt")).toBeNull(); // an empty field is not stored
  await store.delete("fin-deleted");
  await store.restart({ id: "fin-restarted", workflow: "fin", hash: "h", input: payload("again") });
  for (const id of ["fin-deleted", "fin-restarted"]) expect(await Promise.all(finishIndexes(id, "failed"))).toEqual([null, null]);
  expect(await indexesNaming("fin-deleted")).toEqual([]);
  let offset: number | null = 0;
  while (offset !== null) offset = (await store.purge({ status: "failed", workflow: "fin", offset, limit: 100 })).next;
  expect(await indexesNaming("fin-purged")).toEqual([]);
  expect(await redis.zrange(store.keys.finishStatus("failed"), 0, -1)).toEqual([]);
});
