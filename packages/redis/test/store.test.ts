/**
 * Every operation of the Store contract, directly against a real Redis, with
 * the meaning MemoryStore gives it (packages/core/src/store/memory.ts).
 */
import { RunFinishedError, StaleVersionError, UnknownInstanceError, type StoredRun, type TakeSignalResult } from "@parkway/core";
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import type { RedisStore } from "../src/index.js";
import { payload, randomNamespace, redisNow, textOf, useStore } from "./helpers.js";

const LEASE = 60_000;
const ns = randomNamespace();
let redis: Redis;
let store: RedisStore;
let seq = 0;

useStore(ns, (r, s) => {
  redis = r;
  store = s;
});

/** A fresh run id, started and acquired: returns its id and the version its holder writes with. */
async function running(workflow = "wf"): Promise<{ id: string; version: number; run: StoredRun }> {
  const id = `run-${++seq}`;
  await store.start({ id, workflow, hash: "h1", input: payload("in") });
  const got = await store.acquire(id, LEASE);
  if (!got.acquired) throw new Error(`not acquired: ${got.reason}`);
  return { id, version: got.run.header.version, run: got.run };
}

/** The payload a takeSignal took, as text, or null when it took none. */
function taken(result: TakeSignalResult): string | null {
  return "outcome" in result && result.outcome === "signal" ? textOf(result.payload) : null;
}

async function header(id: string) {
  const run = await store.get(id);
  if (!run) throw new Error(`no run ${id}`);
  return run.header;
}

describe("start", () => {
  it("creates a pending run, version 1, due now, with Redis' clock", async () => {
    const before = await redisNow(redis);
    const { created, header: h } = await store.start({ id: "start-1", workflow: "wf", hash: "h1", input: payload("hello") });
    expect(created).toBe(true);
    expect(h).toMatchObject({
      id: "start-1",
      workflow: "wf",
      hash: "h1",
      status: "pending",
      version: 1,
      waits: [],
      attempts: {},
      error: null,
      requested: null,
    });
    expect(h.dueAt).toBe(h.createdAt);
    expect(h.createdAt).toBeGreaterThanOrEqual(before);
    expect(textOf((await store.get("start-1"))?.input)).toBe("hello");
    expect((await store.due(1000)).ids).toContain("start-1");
  });

  it("starting an existing id returns the existing run and never starts a second one", async () => {
    await store.start({ id: "start-2", workflow: "wf", hash: "h1", input: payload("first") });
    const again = await store.start({ id: "start-2", workflow: "other", hash: "h2", input: payload("second") });
    expect(again.created).toBe(false);
    expect(again.header).toMatchObject({ workflow: "wf", hash: "h1", version: 1 });
    expect(textOf((await store.get("start-2"))?.input)).toBe("first");
  });
});

describe("acquire and touch", () => {
  it("hands a pending run over as running under a lease, with a new version", async () => {
    const { id, version, run } = await running();
    expect(version).toBeGreaterThan(1); // a run starts at version 1
    expect(run.header.status).toBe("running");
    expect(run.header.dueAt).toBe(run.now + LEASE);
    expect(textOf(run.input)).toBe("in");
    expect(run.outputs.size).toBe(0);
    const busy = await store.acquire(id, LEASE);
    expect(busy).toMatchObject({ acquired: false, reason: "busy", dueAt: run.header.dueAt });
    expect(!busy.acquired && busy.reason === "busy" && busy.now).toBeGreaterThanOrEqual(run.now);
  });

  it("a running run whose lease expired is handed over again, fencing the old holder", async () => {
    const id = `lease-${++seq}`;
    await store.start({ id, workflow: "wf", hash: "h1", input: payload("in") });
    const first = await store.acquire(id, 0);
    const second = await store.acquire(id, LEASE);
    expect(first.acquired && second.acquired).toBe(true);
    if (!first.acquired || !second.acquired) return;
    expect(second.run.header.version).toBeGreaterThan(first.run.header.version);
    await expect(store.commit(id, first.run.header.version, "a", payload("x"), 1, LEASE)).rejects.toBeInstanceOf(StaleVersionError);
  });

  it("does not hand over finished, paused or not-yet-due runs, and names unknown ids", async () => {
    const a = await running();
    await store.finish(a.id, a.version, { status: "completed", result: payload("r") });
    expect(await store.acquire(a.id, LEASE)).toEqual({ acquired: false, reason: "finished" });
    const b = await running();
    const parked = await store.park(b.id, b.version, [{ kind: "timer", key: "t", reason: "delay", delayMs: 60_000 }], {});
    expect(await store.acquire(b.id, LEASE)).toMatchObject({
      acquired: false,
      reason: "not-due",
      dueAt: parked.outcome === "parked" ? parked.dueAt : -1,
      now: expect.any(Number),
    });
    await store.pause(b.id);
    expect(await store.acquire(b.id, LEASE)).toEqual({ acquired: false, reason: "paused" });
    await expect(store.acquire("no-such-run", LEASE)).rejects.toBeInstanceOf(UnknownInstanceError);
  });

  it("parks a wait of a fractional delay until the next whole millisecond, never before it is due", async () => {
    // The engine asks for what is left of a deadline by its own clock, which is fractional.
    const { id, version } = await running();
    const waits = [
      { kind: "timer", key: "t", reason: "retry", delayMs: 0.4 },
      { kind: "signal", key: "s", signal: "go", timeoutMs: 0.6 },
    ] as const;
    const parked = await store.park(id, version, waits, {});
    const h = await header(id);
    expect(parked).toMatchObject({ outcome: "parked", dueAt: h.updatedAt + 1 });
    expect(h.dueAt).toBe(h.updatedAt + 1);
    expect(h.waits.map((w) => (w.kind === "timer" ? w.until : w.timeoutAt))).toEqual([h.updatedAt + 1, h.updatedAt + 1]);
  });

  it("touch extends the lease without a new version and rejects a stale version", async () => {
    const { id, version } = await running();
    await store.touch(id, version, 120_000);
    const h = await header(id);
    expect(h.version).toBe(version);
    expect(h.dueAt).toBeGreaterThan(h.updatedAt + 100_000);
    await expect(store.touch(id, version - 1, LEASE)).rejects.toBeInstanceOf(StaleVersionError);
  });
});

describe("commit", () => {
  it("commits the output and attempts with a new version and a renewed lease", async () => {
    const { id, version } = await running();
    const result = await store.commit(id, version, "reserve", payload("ok"), 3, LEASE);
    expect(result).toEqual({ ok: true, version: version + 1 });
    const run = await store.get(id);
    expect(textOf(run?.outputs.get("reserve"))).toBe("ok");
    expect(run?.header.attempts).toEqual({ reserve: 3 });
  });

  it("re-sending the last commit answers alreadyCommitted, not a conflict", async () => {
    const { id, version } = await running();
    await store.commit(id, version, "a", payload("1"), 1, LEASE);
    expect(await store.commit(id, version, "a", payload("1"), 1, LEASE)).toEqual({
      ok: true,
      alreadyCommitted: true,
      version: version + 1,
    });
    await expect(store.commit(id, version, "b", payload("2"), 1, LEASE)).rejects.toBeInstanceOf(StaleVersionError);
  });

  it("with a pause requested, keeps the output and pauses; resume makes it pending and due", async () => {
    const { id, version } = await running();
    expect(await store.pause(id)).toMatchObject({ status: "running", immediate: false });
    expect(await store.commit(id, version, "a", payload("kept"), 1, LEASE)).toEqual({ ok: false, stopped: "paused", version: version + 1 });
    const paused = await store.get(id);
    expect(paused?.header).toMatchObject({ status: "paused", requested: null, dueAt: null, attempts: { a: 1 } });
    expect(textOf(paused?.outputs.get("a"))).toBe("kept");
    expect(await store.resume(id)).toMatchObject({ status: "pending", immediate: true });
    expect((await store.acquire(id, LEASE)).acquired).toBe(true);
  });

  it("with a cancel requested, drops the output and cancels", async () => {
    const { id, version } = await running();
    expect(await store.cancel(id)).toMatchObject({ status: "running", immediate: false });
    expect(await store.commit(id, version, "a", payload("dropped"), 1, LEASE)).toEqual({
      ok: false,
      stopped: "cancelled",
      version: version + 1,
    });
    const run = await store.get(id);
    expect(run?.header).toMatchObject({ status: "cancelled", requested: null, dueAt: null });
    expect(run?.outputs.size).toBe(0);
  });
});

describe("park", () => {
  it("parks on a timer due at Redis' now + delay, and keeps the deadline when parked again", async () => {
    const { id, version } = await running();
    const first = await store.park(id, version, [{ kind: "timer", key: "cool", reason: "delay", delayMs: 50_000 }], {});
    if (first.outcome !== "parked") throw new Error(first.outcome);
    const h = await header(id);
    expect(h.waits).toEqual([{ kind: "timer", key: "cool", reason: "delay", until: first.dueAt }]);
    expect(first.dueAt).toBe(h.updatedAt + 50_000);
    await store.signal(id, "unrelated", payload("x"));
    await store.resume(id); // not paused: no change
    const again = await store.acquire(id, LEASE);
    expect(again.acquired).toBe(false);
  });

  it("a re-park of the same key keeps its first deadline (delay and signal timeout)", async () => {
    const { id, version } = await running();
    const waits = [
      { kind: "timer", key: "nap", reason: "delay", delayMs: 0 },
      { kind: "signal", key: "approve", signal: "approved", timeoutMs: 90_000 },
    ] as const;
    const first = await store.park(id, version, waits, { nap: 2 });
    const h1 = await header(id);
    expect(h1.attempts).toEqual({ nap: 2 });
    const got = await store.acquire(id, LEASE); // the timer is due already
    if (!got.acquired || first.outcome !== "parked") throw new Error("expected to acquire");
    const later = [
      { kind: "timer", key: "nap", reason: "delay", delayMs: 999_999 },
      { kind: "signal", key: "approve", signal: "approved", timeoutMs: 1 },
    ] as const;
    await store.park(id, got.run.header.version, later, {});
    expect((await header(id)).waits).toEqual(h1.waits);
  });

  it("a retry parked again asks for a fresh deadline: one step retries many times", async () => {
    const { id, version } = await running();
    await store.park(id, version, [{ kind: "timer", key: "flaky", reason: "retry", delayMs: 0 }], { flaky: 1 });
    const got = await store.acquire(id, LEASE);
    if (!got.acquired) throw new Error("expected to acquire");
    await store.park(id, got.run.header.version, [{ kind: "timer", key: "flaky", reason: "retry", delayMs: 600_000 }], { flaky: 2 });
    const [wait] = (await header(id)).waits;
    expect(wait?.kind === "timer" && wait.until - got.run.now).toBeGreaterThanOrEqual(599_000);
  });

  it("answers signalled, writing nothing, when a signal it waits for is buffered", async () => {
    const { id, version } = await running();
    await store.signal(id, "approved", payload("yes"));
    const result = await store.park(id, version, [{ kind: "signal", key: "s", signal: "approved", timeoutMs: null }], {});
    expect(result).toEqual({ outcome: "signalled", version });
    expect((await header(id)).status).toBe("running");
  });

  it("applies a requested cancel or pause instead of parking", async () => {
    const a = await running();
    await store.cancel(a.id);
    expect(await store.park(a.id, a.version, [{ kind: "timer", key: "t", reason: "delay", delayMs: 10 }], {})).toEqual({
      outcome: "stopped",
      stopped: "cancelled",
      version: a.version + 1,
    });
    const b = await running();
    await store.pause(b.id);
    await store.park(b.id, b.version, [{ kind: "signal", key: "s", signal: "go", timeoutMs: null }], {});
    expect(await header(b.id)).toMatchObject({
      status: "paused",
      dueAt: null,
      waits: [{ kind: "signal", key: "s", signal: "go", timeoutAt: null }],
    });
    expect(await store.resume(b.id)).toMatchObject({ status: "parked", immediate: true });
  });
});

describe("signals", () => {
  it("are buffered first in, first out per name and taken atomically with the step's commit", async () => {
    const { id, version } = await running();
    expect(await store.signal(id, "approved", payload("one"))).toMatchObject({ delivered: "buffered" });
    await store.signal(id, "approved", payload("two"));
    const first = await store.takeSignal(id, version, "w1", "approved", null, LEASE);
    expect(first).toMatchObject({ outcome: "signal", version: version + 1 });
    expect(taken(first)).toBe("one");
    const second = await store.takeSignal(id, version + 1, "w2", "approved", null, LEASE);
    expect(taken(second)).toBe("two");
    const run = await store.get(id);
    expect(textOf(run?.outputs.get("w1"))).toBe("one");
    expect(run?.header.attempts).toEqual({ w1: 1, w2: 1 });
    expect(await store.takeSignal(id, version + 2, "w3", "approved", null, LEASE)).toEqual({ outcome: "none" });
  });

  it("a signal to a parked run waiting for it wakes the run (due now)", async () => {
    const { id, version } = await running();
    await store.park(id, version, [{ kind: "signal", key: "s", signal: "go", timeoutMs: null }], {});
    expect((await header(id)).dueAt).toBeNull();
    const result = await store.signal(id, "go", payload("p"));
    expect(result.delivered).toBe("woke");
    expect(await header(id)).toMatchObject({ dueAt: result.dueAt, version: result.version });
    expect(result.version).toBe(version + 2);
    expect((await store.due(10_000)).ids).toContain(id);
  });

  it("a passed timeout wins only when no signal is buffered, committing the fallback when given", async () => {
    const { id, version } = await running();
    await store.park(id, version, [{ kind: "signal", key: "s", signal: "late", timeoutMs: 0 }], {});
    const got = await store.acquire(id, LEASE);
    if (!got.acquired) throw new Error("expected to acquire");
    const v = got.run.header.version;
    expect(await store.takeSignal(id, v, "s", "late", null, LEASE)).toEqual({ outcome: "timeout", committed: false, version: v });
    expect(await store.takeSignal(id, v, "s", "late", payload("fallback"), LEASE)).toEqual({
      outcome: "timeout",
      committed: true,
      version: v + 1,
    });
    expect(textOf((await store.get(id))?.outputs.get("s"))).toBe("fallback");

    const b = await running();
    await store.park(b.id, b.version, [{ kind: "signal", key: "s", signal: "late", timeoutMs: 0 }], {});
    await store.signal(b.id, "late", payload("in time"));
    const again = await store.acquire(b.id, LEASE);
    if (!again.acquired) throw new Error("expected to acquire");
    const took = await store.takeSignal(b.id, again.run.header.version, "s", "late", payload("fallback"), LEASE);
    expect(taken(took)).toBe("in time");
  });

  it("a signal to a finished or unknown run is a clear error", async () => {
    const { id, version } = await running();
    await store.finish(id, version, { status: "failed", error: { name: "Error", message: "boom" } });
    await expect(store.signal(id, "go", payload("p"))).rejects.toThrow(RunFinishedError);
    await expect(store.signal(id, "go", payload("p"))).rejects.toThrow(/cannot signal "go": run "run-\d+" is failed/);
    await expect(store.signal("nobody", "go", payload("p"))).rejects.toBeInstanceOf(UnknownInstanceError);
  });

  it("ids and names with colons never share a buffer", async () => {
    await store.start({ id: "a", workflow: "wf", hash: "h", input: payload("") });
    await store.start({ id: "a:b", workflow: "wf", hash: "h", input: payload("") });
    await store.signal("a", "b:c", payload("to a"));
    const got = await store.acquire("a:b", LEASE);
    if (!got.acquired) throw new Error("expected to acquire");
    expect(await store.takeSignal("a:b", got.run.header.version, "k", "c", null, LEASE)).toEqual({ outcome: "none" });
  });
});
