import { afterEach, describe, expect, it, vi } from "vitest";
import { createMemoryEngine, flow, MAX_TIMER_MS, runAsync, setLongTimeout, task, toMs, ValidationError } from "../src/index.js";

const DAY = 86_400_000;

/** Collects the process warnings emitted while `fn` runs and a few ticks after. */
async function warningsDuring(fn: () => Promise<void>): Promise<string[]> {
  const seen: string[] = [];
  const onWarning = (warning: Error) => seen.push(warning.name);
  process.on("warning", onWarning);
  try {
    await fn();
    await new Promise((resolve) => setTimeout(resolve, 20));
  } finally {
    process.off("warning", onWarning);
  }
  return seen;
}

describe("timers longer than a Node timer holds", () => {
  afterEach(() => {
    // In this order: a spy made under fake timers would otherwise put the fake setTimeout back.
    vi.restoreAllMocks();
    vi.useRealTimers();
  });

  it("setLongTimeout sleeps in chunks of at most 2^31-1 ms and fires once, at the end", () => {
    vi.useFakeTimers();
    const spy = vi.spyOn(globalThis, "setTimeout");
    const fired = vi.fn();
    setLongTimeout(30 * DAY, fired);
    expect(spy.mock.calls.map(([, ms]) => ms)).toEqual([MAX_TIMER_MS]);
    vi.advanceTimersByTime(MAX_TIMER_MS);
    expect(fired).not.toHaveBeenCalled();
    expect(spy.mock.calls.map(([, ms]) => ms)).toEqual([MAX_TIMER_MS, 30 * DAY - MAX_TIMER_MS]);
    vi.advanceTimersByTime(30 * DAY - MAX_TIMER_MS - 1);
    expect(fired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fired).toHaveBeenCalledTimes(1);
  });

  it("a cancelled long timer never fires", () => {
    vi.useFakeTimers();
    const fired = vi.fn();
    const cancel = setLongTimeout(60 * DAY, fired);
    vi.advanceTimersByTime(MAX_TIMER_MS + 5);
    cancel();
    vi.advanceTimersByTime(60 * DAY);
    expect(fired).not.toHaveBeenCalled();
  });

  it('a task with timeout "30d" runs to its end instead of timing out at once', async () => {
    const slow = task("slow", async (n: number) => (await new Promise((resolve) => setTimeout(resolve, 5)), n + 1), { timeout: "30d" });
    const warnings = await warningsDuring(async () => {
      await expect(runAsync(flow<number>("long-timeout").then(slow).build(), 1)).resolves.toBe(2);
    });
    expect(warnings).not.toContain("TimeoutOverflowWarning");
  });

  it("an embedded engine waiting on a 30-day delay does not spin: no overflow warning, no timer re-armed", async () => {
    const spy = vi.spyOn(globalThis, "setTimeout");
    const wf = flow<null>("month-wait").delay("month", "30d").build();
    const engine = createMemoryEngine({ workflows: [wf] });
    try {
      const warnings = await warningsDuring(async () => {
        await engine.start(wf, null, { id: "m1" });
        await engine.idle();
        expect((await engine.status("m1")).status).toBe("parked");
        spy.mockClear();
        // With an overflowing timer the pump is woken after 1 ms, sweeps, re-arms, again and again.
        await new Promise((resolve) => setTimeout(resolve, 50));
      });
      expect(warnings).not.toContain("TimeoutOverflowWarning");
      // Only this test's own two timers: the engine set none while it waited.
      expect(spy.mock.calls.filter(([, ms]) => ms !== 50 && ms !== 20)).toEqual([]);
      expect((await engine.status("m1")).status).toBe("parked");
    } finally {
      await engine.close();
    }
  });

  it("durations beyond the documented maximum are refused, naming the option", () => {
    expect(toMs("36500d", "delay")).toBe(36_500 * DAY);
    expect(() => toMs("36501d", "delay")).toThrow(ValidationError);
    expect(() => toMs("36501d", "delay")).toThrow(/delay: "36501d" is longer than the maximum duration/);
    expect(() => task("t", () => 1, { timeout: Number.MAX_SAFE_INTEGER })).toThrow(/timeout/);
  });
});
