/**
 * `list` on Redis: the status indexes (of the workflow, with one) merged in
 * list order, a run whose header is gone skipped (and its index entries
 * dropped), cursors checked, an id prefix search bounded per page, a finish
 * range read from the finish indexes.
 */
import { FakeClock, MemoryStore, type ListOrder, type ListPage, type ListQuery, type RunStatus, type Store } from "@parkway/core";
import { Redis } from "ioredis";
import { expect, it } from "vitest";
import type { RedisStore } from "../src/index.js";
import { dropNamespace, keysOf, payload, randomNamespace, storeOn, useStore } from "./helpers.js";

const ns = randomNamespace();
let redis: Redis;
let store: RedisStore;

useStore(ns, (r, s) => {
  redis = r;
  store = s;
});

const STATUSES: readonly RunStatus[] = ["pending", "running", "parked", "paused", "completed", "failed", "cancelled"];

/** Every index `id` is a member of, by key. */
async function indexesOf(id: string, workflow: string): Promise<string[]> {
  const k = store.keys;
  const candidates = [k.due, ...STATUSES.flatMap((s) => [k.status(s), k.workflowStatus(workflow, s)])];
  const found: string[] = [];
  for (const key of candidates) if ((await redis.zscore(key, id)) !== null) found.push(key);
  return found.sort();
}

async function allPages(
  query: { status?: RunStatus; workflow?: string; order?: ListOrder; idPrefix?: string },
  limit: number,
): Promise<string[][]> {
  const pages: string[][] = [];
  let cursor: string | null = null;
  do {
    const page = await store.list({ ...query, limit, ...(cursor === null ? {} : { cursor }) });
    pages.push(page.runs.map((r) => r.id));
    cursor = page.cursor;
  } while (cursor !== null);
  return pages;
}

it("a run whose header is gone is skipped by every list, and its index entries are dropped", async () => {
  const ids = ["g0", "g1", "g2", "g3", "g4"];
  for (const id of ids) await store.start({ id, workflow: "gone", hash: "h", input: payload("") });
  const k = store.keys;
  await redis.del(k.header("g1"), k.header("g3")); // deleted by hand, or evicted
  expect(await indexesOf("g1", "gone")).toEqual([k.due, k.status("pending"), k.workflowStatus("gone", "pending")].sort());

  expect(await allPages({ workflow: "gone", status: "pending", order: "oldest" }, 2)).toEqual([["g0", "g2"], ["g4"]]);
  expect(await indexesOf("g1", "gone")).toEqual([]);
  expect(await indexesOf("g3", "gone")).toEqual([]);

  await redis.del(k.header("g2"));
  expect((await store.list({ limit: 1000, order: "oldest" })).runs.map((r) => r.id)).toEqual(["g0", "g4"]);
  expect(await allPages({ status: "pending", order: "newest" }, 1)).toEqual([["g4"], ["g0"]]);
  expect(await allPages({ workflow: "gone", order: "oldest", idPrefix: "g" }, 1)).toEqual([["g0"], ["g4"]]);
  expect(await indexesOf("g2", "gone")).toEqual([]);
});

it("list with a status and a workflow reads the index of that pair, which follows every status change", async () => {
  for (const id of ["p0", "p1", "p2"]) await store.start({ id, workflow: "pair", hash: "h", input: payload("") });
  await store.start({ id: "q0", workflow: "pair-other", hash: "h", input: payload("") });
  await store.cancel("p1");
  const got = await store.acquire("p2", 60_000);
  if (!got.acquired) throw new Error("not acquired");
  const ids = async (status: RunStatus) => (await store.list({ status, workflow: "pair" })).runs.map((r) => r.id);
  expect([await ids("pending"), await ids("cancelled"), await ids("running")]).toEqual([["p0"], ["p1"], ["p2"]]);
  await store.finish("p2", got.run.header.version, { status: "completed", result: payload("") });
  expect([await ids("running"), await ids("completed")]).toEqual([[], ["p2"]]);
  expect(await redis.zrange(store.keys.workflowStatus("pair", "pending"), 0, -1)).toEqual(["p0"]);
});

it("a cursor the store did not write is a ValidationError naming the cursor", async () => {
  for (const cursor of ["garbage!", Buffer.from('["x",1]').toString("base64url"), Buffer.from("[1,2]").toString("base64url")]) {
    await expect(store.list({ cursor })).rejects.toMatchObject({ code: "VALIDATION", message: /cursor/ });
  }
});

it("an id prefix search looks at a bounded number of runs per page and goes on from where it stopped", async () => {
  await store.start({ id: "needle", workflow: "hay", hash: "h", input: payload("") });
  // 5,000 runs newer than the needle: one page cannot walk past them all.
  const batch = redis.pipeline();
  for (let i = 0; i < 5_000; i++) batch.zadd(store.keys.status("pending"), Date.now() + 10_000, `hay-${String(i).padStart(4, "0")}`);
  await batch.exec();
  const first = await store.list({ idPrefix: "needle", limit: 10 });
  expect(first.runs).toEqual([]);
  expect(first.cursor).not.toBeNull();
  // The page stopped after the ids it looked at (none matched, so none was read); the next one goes on to the needle.
  const second = await store.list({ idPrefix: "needle", limit: 10, cursor: first.cursor! });
  expect(second.runs.map((r) => r.id)).toEqual(["needle"]);
  expect(second.cursor).toBeNull();
});

/** Runs `id` from start to `completed`, through the store. */
async function complete(id: string, workflow: string): Promise<void> {
  await store.start({ id, workflow, hash: "h", input: payload("") });
  const got = await store.acquire(id, 60_000);
  if (!got.acquired) throw new Error("not acquired");
  await store.finish(id, got.run.header.version, { status: "completed", result: payload("") });
}

it("a finish range walks the finish indexes: live runs are never looked at, and a creation range with it is a bounded filter", async () => {
  await complete("done-early", "finish");
  // 6,000 runs created later and never finished: a walk of the creation index with a filter could not pass them in one page.
  const live = redis.pipeline();
  for (let i = 0; i < 6_000; i++)
    live.zadd(store.keys.workflowStatus("finish", "pending"), Date.now() + 10_000, `live-${String(i).padStart(4, "0")}`);
  await live.exec();
  const page = await store.list({ workflow: "finish", finishedAfter: 0, limit: 10 });
  expect(page.runs.map((r) => [r.id, r.status])).toEqual([["done-early", "completed"]]);
  expect(page.runs[0]!.finishedAt).toBe(Number(await redis.hget(store.keys.header("done-early"), "finishedAt")));
  expect(page.cursor).toBeNull();
  expect((await store.list({ workflow: "finish", finishedAfter: 0, status: "parked" })).runs).toEqual([]);

  // 5,000 runs finished later but created before the range: one page cannot look past them all.
  const created = (await store.get("done-early", { outputs: false }))!.header.createdAt;
  const early = redis.pipeline();
  for (let i = 0; i < 5_000; i++) {
    const id = `early-${String(i).padStart(4, "0")}`;
    early.hset(store.keys.header(id), "createdAt", created - 1);
    early.zadd(store.keys.workflowFinishStatus("finish", "completed"), Date.now() + 10_000, id);
  }
  await early.exec();
  const first = await store.list({ workflow: "finish", finishedAfter: 0, createdAfter: created, limit: 10 });
  expect(first.runs).toEqual([]);
  expect(first.cursor).not.toBeNull();
  const second = await store.list({ workflow: "finish", finishedAfter: 0, createdAfter: created, limit: 10, cursor: first.cursor! });
  expect(second.runs.map((r) => r.id)).toEqual(["done-early"]);
  expect(second.cursor).toBeNull();
});

/** Every page of `query` on `s`, by ids, following cursors. */
async function pagesOn(s: Store, query: ListQuery): Promise<string[][]> {
  const pages: string[][] = [];
  let cursor: string | null = null;
  do {
    const page: ListPage = await s.list({ ...query, ...(cursor === null ? {} : { cursor }) });
    pages.push(page.runs.map((r) => r.id));
    cursor = page.cursor;
  } while (cursor !== null);
  return pages;
}

/** Takes run `id` on `s` from pending to `status`, with the versions `s` gives. */
async function drive(s: Store, id: string, status: RunStatus): Promise<void> {
  if (status === "pending") return;
  if (status === "cancelled") return void (await s.cancel(id));
  if (status === "paused") return void (await s.pause(id));
  const got = await s.acquire(id, 60_000);
  if (!got.acquired) throw new Error(`${id} not acquired`);
  const version = got.run.header.version;
  if (status === "completed") await s.finish(id, version, { status, result: payload("") });
  if (status === "failed") await s.finish(id, version, { status, error: { name: "Error", message: "boom" } });
  if (status === "parked") await s.park(id, version, [{ kind: "signal", key: "w", signal: "go", timeoutMs: null }], {});
}

/** A clock the test sets: the memory store then creates each run when Redis did. */
class SetClock extends FakeClock {
  at = 0;
  override now(): number {
    return this.at;
  }
}

it("list without a status merges the status indexes (of the workflow, with one) in the memory store's order, a page at a time either way", async () => {
  const space = randomNamespace();
  const onRedis = storeOn(redis, space);
  const clock = new SetClock();
  const memory = new MemoryStore(clock);
  try {
    // Ids out of creation order, started four at a time so that runs share a creation time, in every status and two workflows.
    const ids = Array.from({ length: 28 }, (_, i) => `m-${String((i * 11) % 28).padStart(2, "0")}`);
    const workflowOf = (i: number) => (i % 2 === 0 ? "merge-a" : "merge-b");
    for (let i = 0; i < ids.length; i += 4) {
      const batch = ids.slice(i, i + 4).map((id, j) => ({ id, workflow: workflowOf(i + j), hash: "h", input: payload("") }));
      const started = await Promise.all(batch.map((run) => onRedis.start(run)));
      for (const [j, run] of batch.entries()) {
        clock.at = started[j]!.header.createdAt;
        await memory.start(run);
      }
    }
    for (const [i, id] of ids.entries()) {
      await drive(onRedis, id, STATUSES[i % STATUSES.length]!);
      await drive(memory, id, STATUSES[i % STATUSES.length]!);
    }
    for (const query of [{}, { workflow: "merge-a" }, { workflow: "merge-b" }, { workflow: "merge-c" }]) {
      expect(await onRedis.counts(query)).toEqual(await memory.counts(query));
    }
    // Entries the walks must step over, put back before each listing: runs whose headers are gone, in two
    // status indexes (tied with a run, or first either way, followed in one index by another gone run); runs
    // whose headers are gone tied with a running run, on either side of it, more than a small page's batch;
    // a stale entry of a listed run in another status's index.
    const k = onRedis.keys;
    const [m00, m04] = await Promise.all(["m-00", "m-04"].map(async (id) => (await onRedis.get(id, { outputs: false }))!.header));
    const stray = async (status: RunStatus, at: number, id: string) => {
      await redis.zadd(k.status(status), at, id);
      await redis.zadd(k.workflowStatus("merge-a", status), at, id);
    };
    const strays = async () => {
      for (const [at, twice, once] of [
        [m00!.createdAt, "m-00-gone", "m-00-gon"],
        [m00!.createdAt + 1e6, "z1", "z0"],
        [1, "a0", "a1"],
      ] as const) {
        await stray("pending", at, twice);
        await stray("completed", at, twice);
        await stray("completed", at, once);
      }
      for (const gone of ["m", "m-", "m-0", "m-04-a", "m-04-b", "m-04-c"]) await stray("running", m04!.createdAt, gone);
      await stray("running", m00!.createdAt - 1, "m-00");
    };
    for (const order of ["newest", "oldest"] as const) {
      for (const query of [{}, { workflow: "merge-a" }, { workflow: "merge-b" }]) {
        for (const limit of [1, 3, 100]) {
          await strays();
          const expected = await pagesOn(memory, { ...query, order, limit });
          expect(expected.flat().length).toBe(Object.keys(query).length === 0 ? 28 : 14);
          expect(await pagesOn(onRedis, { ...query, order, limit }), `${order} ${JSON.stringify(query)} by ${limit}`).toEqual(expected);
        }
      }
    }
    // The creation indexes are the status indexes: no index of all runs, none per workflow alone.
    const keys = await keysOf(redis, space);
    expect(keys.filter((key) => key.endsWith("}:all") || key.includes("}:wf:"))).toEqual([]);
    expect(keys).toContain(k.workflowStatus("merge-b", "parked"));
  } finally {
    await dropNamespace(redis, space);
    await onRedis.close();
  }
});

it("a run started again under a finished run's id before the old entries are trimmed is listed once, as it is now", async () => {
  await complete("again", "again");
  const old = (await store.get("again", { outputs: false }))!.header;
  // Its keys expired; the sweep has not yet removed its index entries.
  const k = store.keys;
  await redis.del(k.header("again"), k.outputs("again"));
  await store.start({ id: "again", workflow: "again", hash: "h", input: payload("") });
  expect(await redis.zscore(k.status("completed"), "again")).toBe(String(old.createdAt));
  expect((await store.list({ workflow: "again" })).runs.map((r) => [r.id, r.status])).toEqual([["again", "pending"]]);
  expect((await store.list({ status: "completed", workflow: "again" })).runs).toEqual([]);
  expect((await store.list({ limit: 1000 })).runs.filter((r) => r.id === "again").map((r) => r.status)).toEqual(["pending"]);
  expect(await indexesOf("again", "again")).toEqual([k.due, k.status("pending"), k.workflowStatus("again", "pending")].sort());
});
