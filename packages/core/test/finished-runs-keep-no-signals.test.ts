/**
 * The memory store drops a run's signal buffers when it finishes, as the
 * Redis store deletes their keys (packages/redis/test/signal-buffers.test.ts).
 */
import { expect, it } from "vitest";
import { MemoryStore } from "../src/index.js";

const bytes = (text: string) => new TextEncoder().encode(text);

/** The signal buffers the store holds for `id`, by name (read from a snapshot). */
function buffersOf(store: MemoryStore, id: string): string[] {
  const record = store.snapshot().records.get(id) as { signals: Map<string, Uint8Array[]> };
  return [...record.signals.keys()];
}

it("a run that completes, fails or is cancelled keeps no signal buffer", async () => {
  const store = new MemoryStore();
  const ends = {
    completed: (version: number) => store.finish("completed", version, { status: "completed", result: bytes("r") }),
    failed: (version: number) => store.finish("failed", version, { status: "failed", error: { name: "Error", message: "no" } }),
    cancelled: async () => store.cancel("cancelled"),
  };
  for (const [id, end] of Object.entries(ends)) {
    await store.start({ id, workflow: "wf", hash: "h", input: bytes("in") });
    const got = await store.acquire(id, 60_000);
    if (!got.acquired) throw new Error("not acquired");
    await store.signal(id, "aproved", bytes("misspelled"));
    await store.signal(id, "go", bytes("never taken"));
    expect(buffersOf(store, id).sort()).toEqual(["aproved", "go"]);
    if (id === "cancelled") await store.park(id, got.run.header.version, [], {}); // parked: a cancel is immediate
    await end(got.run.header.version);
    expect({ id, status: (await store.get(id))?.header.status, buffers: buffersOf(store, id) }).toEqual({ id, status: id, buffers: [] });
    await expect(store.signal(id, "go", bytes("late"))).rejects.toMatchObject({ code: "RUN_FINISHED" });
  }
});
