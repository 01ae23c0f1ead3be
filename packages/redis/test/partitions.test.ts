/**
 * Partitions on one Redis: where a run lives, the count fixed when a
 * namespace is first used, `list` merged over the partitions, and what a
 * partitioned namespace refuses.
 */
import { ValidationError, type ListQuery } from "@parkway/core";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dropNamespace, KEY_LAYOUT, keyLayout, namespaceMetaKey, partitionOf, RedisStore } from "../src/index.js";
import { keysOf, payload, randomNamespace, REDIS_URL } from "./helpers.js";

let redis: Redis;
const namespaces: string[] = [];
const stores: RedisStore[] = [];

/** A store on a namespace dropped after the file. */
function store(namespace: string, partitions?: number): RedisStore {
  if (!namespaces.includes(namespace)) namespaces.push(namespace);
  const s = new RedisStore({ connection: redis, namespace, onWarning: () => {}, ...(partitions === undefined ? {} : { partitions }) });
  stores.push(s);
  return s;
}

/** FNV-1a of raw bytes, written out here apart from the implementation. */
function partitionOfBytes(bytes: number[]): number {
  let hash = 2166136261;
  for (const byte of bytes) hash = Number((BigInt(hash ^ byte) * 16777619n) % 2n ** 32n);
  return hash;
}

const start = (s: RedisStore, id: string, workflow = "w") => s.start({ id, workflow, hash: "h", input: payload("{}") });

beforeAll(() => {
  redis = new Redis(REDIS_URL);
});
afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
  for (const ns of namespaces) await dropNamespace(redis, ns);
  await redis.quit();
});

describe("a run's partition", () => {
  it("is FNV-1a of the id's UTF-8 bytes modulo the count, the same in every process", () => {
    // FNV-1a's published test vectors: changing the function would move every stored run.
    expect(partitionOf("a", 2 ** 32)).toBe(0xe40c292c);
    expect(partitionOf("foobar", 2 ** 32)).toBe(0xbf9cf968);
    expect(partitionOf("a", 7)).toBe(0xe40c292c % 7);
    // UTF-8 bytes, not UTF-16 units.
    expect(partitionOf("é", 2 ** 32)).toBe(partitionOfBytes([0xc3, 0xa9]));
    expect(partitionOf("anything", 1)).toBe(0);
  });

  it("holds every key of the run, under the tag {ns:p}; one partition keeps the layout {ns}", async () => {
    const ns = randomNamespace();
    const s = store(ns, 4);
    await start(s, "r1");
    const got = await s.acquire("r1", 60_000);
    if (!got.acquired) throw new Error("not acquired");
    await s.startAttempt("r1", got.run.header.version, "a", 1, 60_000);
    await s.commit("r1", got.run.header.version, "a", payload("out"), 1, 60_000);
    const p = partitionOf("r1", 4);
    expect(s.layoutOf("r1").prefix).toBe(`{${ns}:${p}}:`);
    const keys = await keysOf(redis, ns);
    expect(keys).toContain(namespaceMetaKey(ns));
    expect(keys).toEqual(expect.arrayContaining([`{${ns}:${p}}:run:r1`, `{${ns}:${p}}:hist:r1`, `{${ns}:${p}}:out:r1`]));
    expect(keys.filter((key) => key !== namespaceMetaKey(ns)).every((key) => key.startsWith(`{${ns}:${p}}:`))).toBe(true);
    expect(keyLayout(ns).prefix).toBe(`{${ns}}:`);
    expect(keyLayout(ns, 0, 1).prefix).toBe(`{${ns}}:`);
  });
});

describe("the partition count", () => {
  it("is fixed by the first user: a store with another count is refused, naming both", async () => {
    const ns = randomNamespace();
    await start(store(ns, 4), "first");
    expect(await redis.hget(namespaceMetaKey(ns), "partitions")).toBe("4");
    const other = store(ns, 2);
    const error = await other.get("first").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toMatch(/has 4 partitions.*partitions: 2/);
    await expect(other.counts()).rejects.toThrow(ValidationError);
    await expect(store(ns).list({})).rejects.toThrow(/has 4 partitions.*partitions: 1/);
    // The same count reads the run from its id alone.
    expect((await store(ns, 4).get("first"))?.header.status).toBe("pending");
  });

  it("of a namespace written before counts were recorded is 1 (and its runs are in the first key layout)", async () => {
    const ns = randomNamespace();
    await start(store(ns), "old");
    // As an older version left it: no meta key, and every run in the index of all runs it kept.
    await redis.del(namespaceMetaKey(ns));
    await redis.zadd(`{${ns}}:all`, 1, "old");
    await expect(store(ns, 3).get("old")).rejects.toThrow(/has 1 partition .*partitions: 3/);
    await expect(store(ns).get("old")).rejects.toThrow(
      new RegExp(`holds runs stored in key layout 1, and this version of Parkway reads layout ${KEY_LAYOUT}`),
    );
  });

  it("comes with the key layout: a namespace that recorded no layout is refused while it holds runs, taken when empty", async () => {
    for (const partitions of [1, 3]) {
      const withRuns = randomNamespace();
      await start(store(withRuns, partitions), "old");
      await redis.hdel(namespaceMetaKey(withRuns), "layout"); // as a version before layouts left it
      const refused = store(withRuns, partitions).get("old");
      await expect(refused).rejects.toThrow(ValidationError);
      await expect(refused).rejects.toThrow(
        new RegExp(`namespace ".*" holds runs stored in key layout 1, .* reads layout ${KEY_LAYOUT}: finish its runs`),
      );

      const empty = randomNamespace();
      namespaces.push(empty);
      await redis.hset(namespaceMetaKey(empty), "partitions", String(partitions));
      await start(store(empty, partitions), "new");
      expect(await redis.hget(namespaceMetaKey(empty), "layout")).toBe(String(KEY_LAYOUT));
      expect((await store(empty, partitions).get("new"))?.header.id).toBe("new");
    }
  });

  it("refuses a namespace of a newer key layout", async () => {
    const ns = randomNamespace();
    namespaces.push(ns);
    await redis.hset(namespaceMetaKey(ns), "partitions", "1", "layout", String(KEY_LAYOUT + 1));
    await expect(store(ns).get("x")).rejects.toThrow(
      new RegExp(`key layout ${KEY_LAYOUT + 1}, and this version of Parkway reads layout ${KEY_LAYOUT}: upgrade Parkway`),
    );
  });

  it("takes over a namespace of layout 2, whose runs it reads as they are, and records its own layout", async () => {
    const ns = randomNamespace();
    namespaces.push(ns);
    await start(store(ns), "kept");
    // As the version of layout 2 left it: the layout recorded, empty header fields stored as "".
    await redis.hset(namespaceMetaKey(ns), "layout", "2");
    await redis.hset(keyLayout(ns).header("kept"), { error: "", requested: "", lastCommit: "", startAt: "" });
    expect((await store(ns).get("kept"))?.header).toMatchObject({ id: "kept", status: "pending", error: null, requested: null });
    expect(await redis.hget(namespaceMetaKey(ns), "layout")).toBe(String(KEY_LAYOUT));
  });

  it("takes over a namespace of layout 3, reading a run's attempt records from their old hash until the run goes", async () => {
    const ns = randomNamespace();
    const before = store(ns);
    await start(before, "old");
    const got = await before.acquire("old", 60_000);
    if (!got.acquired) throw new Error("not acquired");
    let version = got.run.header.version;
    await before.startAttempt("old", version, "a", 1, 60_000);
    version = (await before.commit("old", version, "a", payload("a"), 1, 60_000)).version;
    await before.startAttempt("old", version, "b", 1, 60_000);
    const records = await before.attemptRecords("old");
    // As the version of layout 3 left it: the records in a `tries:` hash of their own.
    const k = keyLayout(ns);
    for (const key of ["a", "b"]) {
      await redis.hset(k.oldAttemptRecords("old"), key, (await redis.hget(k.outputs("old"), `#tries:${key}`))!);
      await redis.hdel(k.outputs("old"), `#tries:${key}`);
    }
    await redis.hset(namespaceMetaKey(ns), "layout", "3");

    const after = store(ns);
    expect(await after.attemptRecords("old")).toEqual(records);
    expect(await redis.hget(namespaceMetaKey(ns), "layout")).toBe(String(KEY_LAYOUT));
    // b's open record is closed where it was opened, and from then on kept in the outputs hash.
    version = (await after.commit("old", version, "b", payload("b"), 1, 60_000)).version;
    const closed = (await after.attemptRecords("old")).get("b")?.[0];
    expect(closed).toMatchObject({ attempt: 1, startedAt: records.get("b")?.[0]?.startedAt, finishedAt: expect.any(Number) });
    expect(await redis.hexists(k.outputs("old"), "#tries:b")).toBe(1);
    expect([...((await after.get("old"))?.outputs.keys() ?? [])].sort()).toEqual(["a", "b"]);
    await after.finish("old", version, { status: "completed", result: payload("done") });
    expect(await redis.pttl(k.oldAttemptRecords("old"))).toBeGreaterThan(0);
    await after.delete("old");
    expect(await redis.exists(k.oldAttemptRecords("old"))).toBe(0);
  });

  it("must be an integer from 1 to 128", () => {
    for (const bad of [0, 129, 1.5, -1, "4", Number.NaN]) {
      expect(() => new RedisStore({ connection: redis, partitions: bad as number }), String(bad)).toThrow(
        /partitions must be an integer between 1 and 128/,
      );
    }
  });

  it("recorded as something else than a count is refused", async () => {
    const ns = randomNamespace();
    namespaces.push(ns);
    await redis.hset(namespaceMetaKey(ns), "partitions", "lots");
    await expect(store(ns).get("x")).rejects.toThrow(/holds partitions "lots", not a count/);
  });

  it("keeps two namespaces from sharing keys: ns:1 beside partition 1 of ns", async () => {
    const ns = randomNamespace();
    await start(store(ns, 4), "a");
    await expect(store(`${ns}:1`).get("a")).rejects.toThrow(/shares its keys with partition 1 of namespace/);
    // Refused before writing anything: partition 1 of ns holds no stray meta key, and ns goes on.
    expect(await redis.exists(namespaceMetaKey(`${ns}:1`))).toBe(0);
    expect((await store(ns, 4).get("a"))?.header.id).toBe("a");
    await start(store(`${ns}:7`), "b"); // ns has no partition 7
    const other = randomNamespace();
    await start(store(`${other}:2`), "c");
    await expect(store(other, 3).get("c")).rejects.toThrow(/partition 2 of namespace .* would share its keys/);
  });
});

describe("list and counts over partitions", () => {
  const ns = randomNamespace();
  let s: RedisStore;
  const ids = Array.from({ length: 40 }, (_, i) => `run-${String(i).padStart(2, "0")}`);

  beforeAll(async () => {
    s = store(ns, 4);
    for (const [i, id] of ids.entries()) await start(s, id, i % 2 === 0 ? "even" : "odd");
    await s.cancel("run-03");
  });

  /** Every page of a query, by ids. */
  async function pages(query: Omit<ListQuery, "limit" | "cursor">, limit: number): Promise<string[][]> {
    const out: string[][] = [];
    let cursor: string | null = null;
    do {
      const page = await s.list({ ...query, limit, ...(cursor === null ? {} : { cursor }) });
      out.push(page.runs.map((r) => r.id));
      cursor = page.cursor;
    } while (cursor !== null);
    return out;
  }

  it("pages through every partition in (createdAt, id) order, either way, each run once", async () => {
    expect(new Set(ids.map((id) => partitionOf(id, 4))).size).toBe(4);
    for (const order of ["oldest", "newest"] as const) {
      const all = (await s.list({ limit: 1000, order })).runs;
      const oldest = [...all].sort((a, b) => a.createdAt - b.createdAt || Buffer.compare(Buffer.from(a.id), Buffer.from(b.id)));
      const expected = order === "oldest" ? oldest : oldest.reverse();
      expect(all.map((r) => r.id)).toEqual(expected.map((r) => r.id));
      expect(all.map((r) => r.id).sort()).toEqual(ids);
      const paged = await pages({ order }, 7);
      expect(paged.map((page) => page.length)).toEqual([7, 7, 7, 7, 7, 5]);
      expect(paged.flat()).toEqual(all.map((r) => r.id));
    }
    expect((await pages({ idPrefix: "run-1" }, 3)).flat().sort()).toEqual(ids.filter((id) => id.startsWith("run-1")));
  });

  it("filters by workflow and status in every partition", async () => {
    expect((await pages({ workflow: "odd" }, 3)).flat().sort()).toEqual(ids.filter((_, i) => i % 2 === 1));
    expect((await pages({ workflow: "odd", status: "cancelled" }, 3)).flat()).toEqual(["run-03"]);
    expect((await pages({ status: "pending" }, 100)).flat()).toHaveLength(39);
  });

  it("counts sum the partitions", async () => {
    expect(await s.counts()).toMatchObject({ pending: 39, cancelled: 1 });
    expect(await s.counts({ workflow: "even" })).toMatchObject({ pending: 20, cancelled: 0 });
  });

  it("a cursor is checked as on one partition", async () => {
    await expect(s.list({ cursor: "not-a-cursor" })).rejects.toThrow(ValidationError);
  });

  it("due reads every partition's due index", async () => {
    const due = await s.due(1000, 0);
    expect([...due.ids].sort()).toEqual(ids.filter((id) => id !== "run-03"));
    expect((await s.dueIn(partitionOf("run-00", 4), 1000, 0)).ids).toContain("run-00");
    await expect(s.dueIn(4, 10)).rejects.toThrow(/partition must be an integer from 0 to 3/);
  });

  it("dropNamespace removes every partition and the meta key", async () => {
    const other = randomNamespace();
    const t = store(other, 3);
    for (const id of ids.slice(0, 10)) await start(t, id);
    expect((await keysOf(redis, other)).length).toBeGreaterThan(10);
    await dropNamespace(redis, other);
    expect(await keysOf(redis, other)).toEqual([]);
    expect(await redis.exists(namespaceMetaKey(other))).toBe(0);
  });
});

describe("the run lifecycle over partitions", () => {
  const ns = randomNamespace();
  let s: RedisStore;
  beforeAll(() => {
    s = store(ns, 4);
  });

  /** Runs `id` to its end through the store, with one committed step "a". */
  async function runToEnd(id: string, status: "completed" | "failed"): Promise<void> {
    await start(s, id);
    const got = await s.acquire(id, 60_000);
    if (!got.acquired) throw new Error(`${id} not acquired`);
    await s.startAttempt(id, got.run.header.version, "a", 1, 60_000);
    const committed = await s.commit(id, got.run.header.version, "a", payload("out"), 1, 60_000);
    const end = status === "completed" ? { status, result: payload("r") } : { status, error: { name: "Error", message: "no" } };
    await s.finish(id, committed.version, end);
  }

  const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

  it("retention settings reach every partition; finished runs expire in theirs and the trim goes partition by partition", async () => {
    await s.setRetention(null, { completed: 300 });
    for (const k of s.layouts) expect(await redis.hget(k.retention, "completed")).toBe("300");
    const runs = ids("ret", 12);
    expect(new Set(runs.map((id) => partitionOf(id, 4))).size).toBeGreaterThan(1);
    for (const id of runs) {
      await runToEnd(id, "completed");
      const k = s.layoutOf(id);
      expect(await redis.pttl(k.header(id)), id).toBeGreaterThan(0);
      expect(await redis.zscore(k.expiring, JSON.stringify([id, "completed", "w"])), id).not.toBeNull();
    }
    await new Promise((resolve) => setTimeout(resolve, 350));
    const p = partitionOf(runs[0]!, 4);
    expect((await s.trimExpiredIn(p, 100)).trimmed).toBe(runs.filter((id) => partitionOf(id, 4) === p).length);
    expect((await s.trimExpired(100)).trimmed).toBe(runs.filter((id) => partitionOf(id, 4) !== p).length);
    expect(await s.counts()).toMatchObject({ completed: 0 });
    await expect(s.trimExpiredIn(4, 10)).rejects.toThrow(/partition must be an integer from 0 to 3/);
    await s.setRetention(null, {});
    for (const k of s.layouts) expect(await redis.hget(k.retention, "completed")).toBeNull();
  });

  it("purge walks every partition, one bounded batch per call", async () => {
    await s.setRetention(null, {});
    const runs = ids("pg", 20);
    for (const [i, id] of runs.entries()) await runToEnd(id, i % 2 === 0 ? "completed" : "failed");
    let deleted = 0;
    let calls = 0;
    for (let offset: number | null = 0; offset !== null; calls++) {
      const batch = await s.purge({ status: "completed", offset, limit: 3 });
      deleted += batch.deleted;
      offset = batch.next;
    }
    expect(deleted).toBe(10);
    expect(calls).toBeGreaterThanOrEqual(4);
    expect(await s.counts()).toMatchObject({ completed: 0, failed: 10 });
  });

  it("retry, rewind, migrate, delete and restart act in the run's own partition", async () => {
    const id = ids("rp", 8).find((candidate) => partitionOf(candidate, 4) !== 0)!;
    const k = s.layoutOf(id);
    await runToEnd(id, "failed");
    expect((await s.retry(id)).status).toBe("pending");
    expect(await redis.hget(k.header(id), "status")).toBe("pending");
    expect((await s.rewind(id, "a", { refs: ["a"], loops: [] })).status).toBe("pending");
    expect(await redis.hkeys(k.outputs(id))).toEqual(["#input"]);
    await s.migrate(id, "h2", { refs: ["a"], loops: [] }, {}, ["go"]);
    expect(await redis.hmget(k.header(id), "hash", "signals")).toEqual(["h2", '["go"]']);
    await expect(s.delete(id)).rejects.toMatchObject({ code: "RUN_STATE" });
    const restarted = await s.restart({ id, workflow: "w", hash: "h3", input: payload("{}"), signals: [] });
    expect([restarted.replaced, restarted.header.hash]).toEqual([true, "h3"]);
    await s.cancel(id);
    await s.delete(id);
    expect((await keysOf(redis, ns)).filter((key) => key.endsWith(`:${id}`))).toEqual([]);
    expect(await s.get(id)).toBeNull();
  });
});
