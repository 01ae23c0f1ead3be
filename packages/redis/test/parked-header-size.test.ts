/**
 * What a parked run's header costs Redis: its waits are stored compactly, so
 * the header keeps Redis's small hash encoding (listpack, every value at most
 * 64 bytes) rather than a hash table; and headers written with waits as
 * objects (as earlier versions wrote them) are still read by every script.
 */
import { Redis } from "ioredis";
import { expect, it } from "vitest";
import type { RedisStore } from "../src/index.js";
import { payload, randomNamespace, useStore } from "./helpers.js";

const LEASE = 60_000;
const ns = randomNamespace();
let redis: Redis;
let store: RedisStore;

useStore(ns, (r, s) => {
  redis = r;
  store = s;
});

async function acquired(id: string): Promise<number> {
  const got = await store.acquire(id, LEASE);
  if (!got.acquired) throw new Error(`not acquired: ${got.reason}`);
  return got.run.header.version;
}

it.each([
  { kind: "timer", key: "wait-for-payment", reason: "delay", delayMs: 3_600_000 } as const,
  { kind: "signal", key: "approval", signal: "approved", timeoutMs: 86_400_000 } as const,
])("a run parked on one $kind keeps the small hash encoding", async (wait) => {
  const id = `parked-${wait.kind}`;
  await store.start({ id, workflow: "checkout", hash: "h", input: payload("in") });
  const parked = await store.park(id, await acquired(id), [wait], {});
  expect(parked.outcome).toBe("parked");
  expect(await redis.object("ENCODING", store.keys.header(id))).toBe("listpack");
  const expected =
    wait.kind === "timer"
      ? { kind: "timer", key: wait.key, reason: "delay", until: expect.any(Number) as number }
      : { kind: "signal", key: wait.key, signal: wait.signal, timeoutAt: expect.any(Number) as number };
  expect((await store.get(id))?.header.waits).toEqual([expected]);
});

it("waits stored as objects are read, keep their deadlines on a re-park, and wake on their signal", async () => {
  await store.start({ id: "older", workflow: "checkout", hash: "h", input: payload("in") });
  const version = await acquired("older");
  await store.park("older", version, [{ kind: "signal", key: "s", signal: "go", timeoutMs: null }], {});
  const waits = [
    { kind: "timer", key: "nap", reason: "delay", until: 4_000_000_000_000 },
    { kind: "signal", key: "s", signal: "go", timeoutAt: 4_100_000_000_000 },
  ];
  await redis.hset(store.keys.header("older"), "waits", JSON.stringify(waits));
  expect((await store.get("older"))?.header.waits).toEqual(waits);

  expect(await store.signal("older", "go", payload("p"))).toMatchObject({ delivered: "woke" });
  const taken = await store.takeSignal("older", await acquired("older"), "s", "go", null, LEASE);
  if (!("outcome" in taken) || taken.outcome !== "signal") throw new Error(`signal not taken: ${JSON.stringify(taken)}`);
  const reparked = await store.park("older", taken.version, [{ kind: "timer", key: "nap", reason: "delay", delayMs: 1 }], {});
  // A deadline fixed at the first park stays, whichever form it was stored in.
  expect(reparked).toMatchObject({ outcome: "parked", dueAt: 4_000_000_000_000 });
  expect((await store.get("older"))?.header.waits).toEqual([waits[0]]);
});

it("a stored wait in neither form is a corrupt header, not a wait", async () => {
  await store.start({ id: "garbled", workflow: "checkout", hash: "h", input: payload("in") });
  await redis.hset(store.keys.header("garbled"), "waits", JSON.stringify([["x", "k"]]));
  await expect(store.get("garbled")).rejects.toMatchObject({ context: { instanceId: "garbled", field: "waits" } });
  await expect(store.signal("garbled", "go", payload("p"))).rejects.toMatchObject({ context: { field: "waits" } });
});
