/**
 * A finished run's signal buffers go with it: a signal no step took (a
 * misspelled name, one sent while no step waited) leaves no key behind.
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

/** The signal buffer keys (and the set of their names) of run `id`. */
async function signalKeysOf(id: string): Promise<string[]> {
  const buffers = `{${ns}}:sig:${Buffer.byteLength(id)}:${id}:`;
  return (await keysOf(redis, ns)).filter((key) => key.startsWith(buffers) || key === store.keys.signalNames(id));
}

it("a run that completes, fails or is cancelled (at once or at its boundary) keeps no signal buffer", async () => {
  const ends: Record<string, (id: string, version: number) => Promise<unknown>> = {
    "ends-completed": (id, version) => store.finish(id, version, { status: "completed", result: payload("r") }),
    "ends-failed": (id, version) => store.finish(id, version, { status: "failed", error: { name: "Error", message: "no" } }),
    "ends-cancelled-at-once": async (id, version) => {
      await store.park(id, version, [], {});
      await store.cancel(id);
    },
    "ends-cancelled-at-boundary": async (id, version) => {
      await store.cancel(id);
      await store.commit(id, version, "a", payload("dropped"), 1, 60_000);
    },
  };
  for (const [id, end] of Object.entries(ends)) {
    await store.start({ id, workflow: "wf", hash: "h", input: payload("in") });
    const got = await store.acquire(id, 60_000);
    if (!got.acquired) throw new Error("not acquired");
    await store.signal(id, "aproved", payload("misspelled"));
    await store.signal(id, "go", payload("never taken"));
    expect(await signalKeysOf(id)).toHaveLength(3);
    await end(id, got.run.header.version);
    expect({ id, finished: (await store.get(id))?.header.status, keys: await signalKeysOf(id) }).toEqual({
      id,
      finished: expect.stringMatching(/completed|failed|cancelled/),
      keys: [],
    });
    await expect(store.signal(id, "go", payload("late"))).rejects.toMatchObject({ code: "RUN_FINISHED" });
    expect(await signalKeysOf(id)).toEqual([]);
  }
});

it("a live run keeps its buffers, and a taken signal still leaves the run's other buffers in place", async () => {
  await store.start({ id: "live", workflow: "wf", hash: "h", input: payload("in") });
  const got = await store.acquire("live", 60_000);
  if (!got.acquired) throw new Error("not acquired");
  await store.signal("live", "a", payload("1"));
  await store.signal("live", "b", payload("2"));
  const taken = await store.takeSignal("live", got.run.header.version, "step", "a", null, 60_000);
  expect(taken).toMatchObject({ outcome: "signal" });
  expect(await redis.lrange(store.keys.signals("live", "b"), 0, -1)).toEqual(["2"]);
  expect((await redis.smembers(store.keys.signalNames("live"))).sort()).toEqual(["a", "b"]);
});
