/**
 * The rest of the Store contract against a real Redis: finishing, blocking,
 * cancel/pause/resume, reading (get, list, due), onFinish and close.
 */
import { RunFinishedError, StaleVersionError, UnknownInstanceError, type RunStatus } from "@parkway/core";
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { RedisStore } from "../src/index.js";
import { dropNamespace, payload, randomNamespace, REDIS_URL, storeOn, textOf, useStore } from "./helpers.js";

const LEASE = 60_000;
const ns = randomNamespace();
let redis: Redis;
let store: RedisStore;
let seq = 0;

useStore(ns, (r, s) => {
  redis = r;
  store = s;
});

async function running(workflow = "wf", id = `run-${++seq}`): Promise<{ id: string; version: number }> {
  await store.start({ id, workflow, hash: "h1", input: payload("in") });
  const got = await store.acquire(id, LEASE);
  if (!got.acquired) throw new Error(`not acquired: ${got.reason}`);
  return { id, version: got.run.header.version };
}

async function header(id: string) {
  const run = await store.get(id);
  if (!run) throw new Error(`no run ${id}`);
  return run.header;
}

describe("finish and block", () => {
  it("completes with a result, or fails with the error, leaving nothing due", async () => {
    const a = await running();
    expect(await store.finish(a.id, a.version, { status: "completed", result: payload("done") })).toEqual({
      ok: true,
      version: a.version + 1,
    });
    const done = await store.get(a.id);
    expect(done?.header).toMatchObject({ status: "completed", dueAt: null, waits: [], error: null });
    expect(textOf(done?.result)).toBe("done");
    const b = await running();
    const error = { name: "TaskError", message: "card declined", code: "X", context: { step: "charge" } };
    await store.finish(b.id, b.version, { status: "failed", error });
    expect(await header(b.id)).toMatchObject({ status: "failed", error });
    expect((await store.due(10_000)).ids).not.toContain(a.id);
  });

  it("a requested cancel wins over completion", async () => {
    const { id, version } = await running();
    await store.cancel(id);
    expect(await store.finish(id, version, { status: "completed", result: payload("r") })).toEqual({
      ok: false,
      stopped: "cancelled",
      version: version + 1,
    });
    expect((await store.get(id))?.result).toBeNull();
  });

  it("block leaves the run parked, not due for a while, with the error and its outputs intact", async () => {
    const { id, version } = await running();
    await store.commit(id, version, "a", payload("kept"), 1, LEASE);
    const error = { name: "DefinitionMismatchError", message: "unknown hash", code: "DEFINITION_MISMATCH" };
    await store.block(id, version + 1, error, 30_000);
    const run = await store.get(id);
    expect(run?.header).toMatchObject({ status: "parked", error, version: version + 2 });
    expect(run?.header.dueAt).toBe((run?.header.updatedAt ?? 0) + 30_000);
    expect(textOf(run?.outputs.get("a"))).toBe("kept");
    await expect(store.block(id, version, error, 1)).rejects.toBeInstanceOf(StaleVersionError);
  });
});

describe("cancel, pause and resume", () => {
  it("cancel of a parked run is immediate; of a running run waits for the boundary without a new version", async () => {
    const a = await running();
    await store.park(a.id, a.version, [{ kind: "signal", key: "s", signal: "go", timeoutMs: null }], {});
    expect(await store.cancel(a.id)).toEqual({ status: "cancelled", immediate: true, version: a.version + 2 });
    expect(await header(a.id)).toMatchObject({ status: "cancelled", waits: [], dueAt: null });
    await expect(store.cancel(a.id)).rejects.toBeInstanceOf(RunFinishedError);
    const b = await running();
    await store.cancel(b.id);
    expect(await header(b.id)).toMatchObject({ status: "running", requested: "cancel", version: b.version });
  });

  it("pause of a parked run is immediate and not due; resume makes it parked and due now", async () => {
    const { id, version } = await running();
    await store.park(id, version, [{ kind: "timer", key: "t", reason: "delay", delayMs: 3_600_000 }], {});
    expect(await store.pause(id)).toMatchObject({ status: "paused", immediate: true });
    expect(await store.pause(id)).toMatchObject({ status: "paused", immediate: true });
    expect((await header(id)).dueAt).toBeNull();
    await store.signal(id, "t", payload("ignored while paused"));
    expect(await store.resume(id)).toMatchObject({ status: "parked", immediate: true });
    const h = await header(id);
    expect(h.dueAt).toBe(h.updatedAt);
    expect((await store.acquire(id, LEASE)).acquired).toBe(true);
  });

  it("pause of a running run is a request; resume withdraws it; a cancel request is never downgraded", async () => {
    const a = await running();
    expect(await store.pause(a.id)).toEqual({ status: "running", immediate: false, version: a.version });
    expect(await store.resume(a.id)).toMatchObject({ status: "running", immediate: true });
    expect(await header(a.id)).toMatchObject({ requested: null, version: a.version });
    await store.cancel(a.id);
    await store.pause(a.id);
    expect((await header(a.id)).requested).toBe("cancel");
    await expect(store.resume("missing")).rejects.toBeInstanceOf(UnknownInstanceError);
  });
});

describe("reading", () => {
  it("get returns null for an unknown id and can skip outputs", async () => {
    expect(await store.get("nothing-here")).toBeNull();
    const { id, version } = await running();
    await store.commit(id, version, "a", payload("x"), 1, LEASE);
    expect((await store.get(id, { outputs: false }))?.outputs.size).toBe(0);
    expect((await store.get(id))?.outputs.size).toBe(1);
  });

  it("list filters by status and workflow, oldest first, a page at a time", async () => {
    const wf = `list-${seq}`;
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      const id = `L${i}:${wf}`;
      ids.push(id);
      await store.start({ id, workflow: i % 2 === 0 ? wf : `${wf}-other`, hash: "h", input: payload("") });
    }
    await store.cancel(ids[2] ?? "");
    const pages: string[][] = [];
    let cursor: string | null | undefined;
    do {
      const page = await store.list({ workflow: wf, limit: 2, order: "oldest", ...(cursor ? { cursor } : {}) });
      pages.push(page.runs.map((r) => r.id));
      cursor = page.cursor;
    } while (cursor);
    expect(pages).toEqual([
      [ids[0], ids[2]],
      [ids[4], ids[6]],
    ]);
    const pending = await store.list({ workflow: wf, status: "pending", order: "oldest" });
    expect(pending.runs.map((r) => r.id)).toEqual([ids[0], ids[4], ids[6]]);
    expect(pending.cursor).toBeNull();
    expect((await store.list({ status: "cancelled", workflow: wf })).runs.map((r) => r.id)).toEqual([ids[2]]);
    const all = await store.list({ limit: 1000, order: "oldest" });
    const sorted = [...all.runs].sort((x, y) => x.createdAt - y.createdAt || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
    expect(all.runs.map((r) => r.id)).toEqual(sorted.map((r) => r.id));
  });

  it("due lists runs due by Redis' now, earliest first, and when the next falls due", async () => {
    const other = new RedisStore({ connection: REDIS_URL, namespace: `${ns}-due`, onWarning: () => {} });
    try {
      const b = await other.start({ id: "b", workflow: "wf", hash: "h", input: payload("") });
      await other.start({ id: "a", workflow: "wf", hash: "h", input: payload("") });
      const c = await other.start({ id: "c", workflow: "wf", hash: "h", input: payload("") });
      const got = await other.acquire("c", 5_000);
      if (!got.acquired) throw new Error("expected to acquire");
      const due = await other.due(10);
      expect(new Set(due.ids)).toEqual(new Set(["a", "b"]));
      expect(due.nextDueAt).toBe(got.run.header.dueAt);
      expect(due.now).toBeGreaterThanOrEqual(c.header.createdAt);
      expect((await other.due(1)).ids).toHaveLength(1);
      const late = await other.due(10, 60_000); // none is a minute late yet
      expect(late.ids).toEqual([]);
      expect(late.nextDueAt).toBe(b.header.dueAt); // the earliest, b, counts from now - grace
      expect(late.now).toBeGreaterThanOrEqual(due.now);
    } finally {
      await dropNamespace(redis, `${ns}-due`);
      await other.close();
    }
  });
});

describe("onFinish and close", () => {
  it("tells listeners of every run that finishes, from another store sharing the namespace", async () => {
    const listener = new RedisStore({ connection: REDIS_URL, namespace: ns, onWarning: () => {} });
    const heard: [string, RunStatus][] = [];
    const stop = await listener.onFinish((id, status) => heard.push([id, status]));
    const a = await running();
    await store.finish(a.id, a.version, { status: "completed", result: payload("") });
    const b = await running();
    await store.cancel(b.id);
    await store.commit(b.id, b.version, "x", payload(""), 1, LEASE);
    await expect
      .poll(() => heard)
      .toEqual([
        [a.id, "completed"],
        [b.id, "cancelled"],
      ]);
    await stop();
    const c = await running();
    await store.cancel(c.id);
    await store.finish(c.id, c.version, { status: "completed", result: payload("") });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(heard).toHaveLength(2);
    await listener.close();
    await expect.poll(() => listener.redis.status).toBe("end");
  });

  it("close leaves a connection passed in open", async () => {
    const shared = new Redis(REDIS_URL);
    const s = storeOn(shared, ns);
    await s.onFinish(() => {});
    await s.close();
    expect(await shared.ping()).toBe("PONG");
    await shared.quit();
  });
});
