/**
 * A run parked until beyond the timer horizon is in its partition's `timers` index (scored by
 * when it is due) instead of the due index and a wake-up job; every write that moves it off that
 * timer takes it out, promoteTimersIn moves each one to the due index once, and `due` finds one
 * that came due with no worker to promote it.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, expect, it } from "vitest";
import { TIMER_HORIZON_MS, type RedisStore } from "../src/index.js";
import { dropNamespace, payload, randomNamespace, REDIS_URL, storeOn } from "./helpers.js";

let redis: Redis;
let store: RedisStore;
const ns = randomNamespace();
const HOUR = 3_600_000;

beforeAll(() => {
  redis = new Redis(REDIS_URL);
  store = storeOn(redis, ns);
});
afterAll(async () => {
  await store.close();
  await dropNamespace(redis, ns);
  redis.disconnect();
});

const timers = async () => redis.zrange(store.keys.timers, 0, -1, "WITHSCORES");
const inDue = async (id: string) => redis.zscore(store.keys.due, id);

/** Starts `id` and parks it on a timer `delayMs` ahead (or a signal with that timeout); returns its version and due time. */
async function parkFor(id: string, delayMs: number, kind: "timer" | "signal" = "timer"): Promise<{ version: number; dueAt: number }> {
  await store.start({ id, workflow: "w", hash: "h", input: payload("in") });
  const got = await store.acquire(id, 60_000);
  if (!got.acquired) throw new Error("not acquired");
  const wait =
    kind === "timer"
      ? ({ kind: "timer", key: "nap", reason: "delay", delayMs } as const)
      : ({ kind: "signal", key: "wait", signal: "go", timeoutMs: delayMs } as const);
  const parked = await store.park(id, got.run.header.version, [wait], { [wait.key]: 1 });
  if (parked.outcome !== "parked" || parked.dueAt === null) throw new Error(`not parked: ${JSON.stringify(parked)}`);
  return { version: parked.version, dueAt: parked.dueAt };
}

it("a run parked beyond the horizon is in the timers index and not the due index, one parked within it the other way round", async () => {
  const far = await parkFor("far", HOUR);
  const near = await parkFor("near", TIMER_HORIZON_MS - 60_000);
  const timeout = await parkFor("far-timeout", 2 * HOUR, "signal");
  expect(await timers()).toEqual(["far", String(far.dueAt), "far-timeout", String(timeout.dueAt)]);
  expect(await inDue("far")).toBeNull();
  expect(await inDue("far-timeout")).toBeNull();
  expect(await inDue("near")).toBe(String(near.dueAt));
});

it("a far delayed start is in the timers index", async () => {
  const { header } = await store.start({ id: "later", workflow: "w", hash: "h", input: payload("in"), notBefore: { delayMs: HOUR } });
  expect(await redis.zscore(store.keys.timers, "later")).toBe(String(header.dueAt));
  expect(await inDue("later")).toBeNull();
});

it("a signal that wakes it, a cancel, a pause, a delete or a park on a near timer take it out", async () => {
  await parkFor("signalled", HOUR, "signal");
  await store.signal("signalled", "go", payload("now"));
  const cancelled = "cancelled";
  await parkFor(cancelled, HOUR);
  await store.cancel(cancelled);
  await parkFor("paused", HOUR);
  await store.pause("paused");
  await parkFor("deleted", HOUR);
  await store.cancel("deleted");
  await store.delete("deleted");
  const again = await parkFor("reparked", HOUR);
  const woke = await store.acquire("reparked", 60_000);
  expect(woke.acquired).toBe(false); // not due: it stays parked, still far
  expect(await redis.zscore(store.keys.timers, "reparked")).toBe(String(again.dueAt));
  for (const id of ["signalled", "cancelled", "paused", "deleted"]) expect(await redis.zscore(store.keys.timers, id), id).toBeNull();
  expect(await inDue("signalled")).not.toBeNull(); // woke: due now
  for (const id of ["cancelled", "paused", "deleted", "reparked"]) expect(await inDue(id), id).toBeNull();
});

it("promoteTimersIn hands out the timers due within its window, each once, and leaves the rest", async () => {
  await redis.del(store.keys.timers);
  const soon = await parkFor("soon", TIMER_HORIZON_MS + 120_000);
  const late = await parkFor("late", 5 * HOUR);
  expect((await store.promoteTimersIn(0, 0, 100)).timers).toEqual([]);
  const taken = await store.promoteTimersIn(0, TIMER_HORIZON_MS + 180_000, 100);
  expect(taken.timers).toEqual([{ id: "soon", dueAt: soon.dueAt }]);
  expect(taken.now).toBeLessThan(soon.dueAt);
  expect(await inDue("soon")).toBe(String(soon.dueAt));
  expect(await inDue("late")).toBeNull();
  expect((await store.promoteTimersIn(0, TIMER_HORIZON_MS + 180_000, 100)).timers).toEqual([]);
  expect(await timers()).toEqual(["late", String(late.dueAt)]);
  await expect(store.promoteTimersIn(1, 0, 1)).rejects.toThrow(/partition must be an integer from 0 to 0, got 1/);
  for (const [windowMs, limit, what] of [
    [-1, 10, /windowMs must be an integer between 0 and 31536000000, got -1/],
    [1.5, 10, /windowMs must be an integer/],
    [1_000, 0, /limit must be an integer between 1 and 100000, got 0/],
    [1_000, Number.NaN, /limit must be an integer/],
  ] as const) {
    await expect(store.promoteTimersIn(0, windowMs, limit)).rejects.toThrow(what);
  }
  expect(await timers()).toEqual(["late", String(late.dueAt)]);
});

it("due finds a far timer that came due with nobody to promote it, once, and counts the far timers in its next due time", async () => {
  await redis.del(store.keys.timers, store.keys.due);
  const lapsed = await parkFor("lapsed", HOUR);
  const later = await parkFor("later-still", 3 * HOUR);
  expect(await store.due(10)).toMatchObject({ ids: [], nextDueAt: lapsed.dueAt });
  // As a worker of an earlier version left it: in both indexes, and overdue.
  await redis.zadd(store.keys.timers, 1, "lapsed");
  await redis.zadd(store.keys.due, 1, "lapsed");
  expect(await store.due(10)).toMatchObject({ ids: ["lapsed"], nextDueAt: later.dueAt });
  expect((await store.due(0)).ids).toEqual([]);
});
