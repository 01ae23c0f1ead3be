/**
 * The tick protocol (mark, start, settle) when the process starting a tick dies between two of
 * its writes: the tick is neither lost nor started twice, and no other process takes it while
 * the mark's lease holds.
 */
import { describe, expect, it } from "vitest";
import { FakeClock } from "../src/clock.js";
import { fireSchedule, TICK_LEASE_MS, tickRunId, type TickContext } from "../src/engine/schedule-ticks.js";
import { MemoryStore } from "../src/store/memory.js";
import type { ScheduleState } from "../src/store/schedule-types.js";
import type { Store } from "../src/store/types.js";

const state = (nextAt: number): ScheduleState => ({
  workflow: "wf",
  hash: "h",
  signals: [],
  cron: "* * * * * *",
  timezone: null,
  overlap: "allow",
  catchup: "none",
  paused: false,
  nextAt,
  buffered: null,
  triggered: null,
  firing: null,
  lastRun: null,
  skipped: 0,
});

/** A context whose process "dies" (throws) at the first call of `operation`. */
function dyingAt(store: Store, operation: "start" | "settle"): TickContext {
  let puts = 0;
  const dying = new Proxy(store, {
    get(target, name, receiver) {
      if (operation === "start" && name === "start") return () => Promise.reject(new Error("died before starting the run"));
      if (operation === "settle" && name === "putSchedule") {
        return (...args: Parameters<Store["putSchedule"]>) =>
          ++puts === 2 ? Promise.reject(new Error("died before settling")) : target.putSchedule(...args);
      }
      const value = Reflect.get(target, name, receiver) as unknown;
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { store: dying, wake: async () => undefined };
}

describe("a process dying in the middle of a tick", () => {
  for (const when of ["start", "settle"] as const) {
    it(`dying before it could ${when}: the tick is held for its lease, then another process starts it once`, async () => {
      const clock = new FakeClock();
      const store = new MemoryStore(clock);
      const tick = clock.now();
      await store.putSchedule({ id: "s", version: 0, state: state(tick), input: new Uint8Array([0xc0]), due: { at: tick } });
      await expect(fireSchedule(dyingAt(store, when), "s")).rejects.toThrow(/died/);
      const healthy: TickContext = { store, wake: async () => undefined };
      expect(await fireSchedule(healthy, "s")).toEqual([]); // the mark's lease still holds
      expect((await store.getSchedule("s"))!.state.firing?.runId).toBe(tickRunId("s", tick));
      await clock.advance(TICK_LEASE_MS);
      const started = await fireSchedule(healthy, "s");
      expect(started[0]).toBe(tickRunId("s", tick));
      const after = (await store.getSchedule("s"))!;
      expect(after.state).toMatchObject({ firing: null, lastRun: started[started.length - 1] });
      const runs = (await store.list({ limit: 100 })).runs.map((r) => r.id);
      expect(runs.filter((id) => id === tickRunId("s", tick))).toHaveLength(1);
      // The ticks that came meanwhile were started after it, each once, in order.
      expect(started).toEqual(Array.from({ length: started.length }, (_, i) => tickRunId("s", tick + i * 1000)));
      expect(runs.sort()).toEqual(started.slice().sort());
    });
  }
});
