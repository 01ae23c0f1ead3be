/**
 * Wake-up job data without an OpenTelemetry SDK (none is registered in this
 * file): nothing is carried, so jobs stay as small as they were.
 */
import { context, ROOT_CONTEXT, trace } from "@opentelemetry/api";
import { describe, expect, it } from "vitest";
import { wakeDelay, wakeJobContext, wakeJobData, wakeJobId } from "../src/wake-jobs.js";

describe("wake-up job data without an SDK", () => {
  it("carries only the run id, even inside a span", () => {
    expect(wakeJobData("run-1", ROOT_CONTEXT)).toEqual({ id: "run-1" });
    trace.getTracer("t").startActiveSpan("caller", (span) => {
      expect(wakeJobData("run-1", context.active())).toEqual({ id: "run-1" });
      span.end();
    });
  });

  it("a job without a carrier, or with garbage in its place, has no caller", () => {
    expect(wakeJobContext({ id: "run-1" })).toBe(ROOT_CONTEXT);
    expect(wakeJobContext({ id: "run-1", trace: "nope" } as never)).toBe(ROOT_CONTEXT);
    expect(trace.getSpanContext(wakeJobContext({ id: "run-1", trace: { traceparent: "00-garbage" } }))).toBeUndefined();
  });
});

describe("wake-up job ids", () => {
  const timer = { reason: "timer", version: 7, dueAt: 5_000.5, now: 1_000.25 } as const;

  it("a distinct wake-up gets a new id; the same one asked twice gets the same id", () => {
    const ids = [
      wakeJobId("run-1", timer),
      wakeJobId("run-2", timer),
      wakeJobId("run-1", { ...timer, version: 8 }),
      wakeJobId("run-1", { ...timer, dueAt: 6_000 }),
      wakeJobId("run-1", { ...timer, now: 1_001 }),
      wakeJobId("run-1", { reason: "signal", version: 7, dueAt: null }),
      wakeJobId("run-1", { reason: "sweep", version: 0, dueAt: null }),
    ];
    expect(new Set(ids).size).toBe(ids.length);
    expect(wakeJobId("run-1", { ...timer })).toBe(ids[0]);
    // One sweep job per run, whatever the sweep's version or time.
    expect(wakeJobId("run-1", { reason: "sweep", version: 3, dueAt: 9, now: 1 })).toBe(ids[6]);
  });

  it("is short, names its reason, and never contains ':' nor is all digits", () => {
    for (const id of ["a:b:c", "12345", "x".repeat(500)]) {
      const jobId = wakeJobId(id, timer);
      expect(jobId).toMatch(/^timer-[\w-]{11}$/);
    }
  });

  it("a delay measured on the store's clock is a whole number of milliseconds, never early", () => {
    expect(wakeDelay(timer)).toBe(4_001);
    expect(wakeDelay({ ...timer, dueAt: 500 })).toBe(0);
    expect(wakeDelay({ reason: "signal", version: 1, dueAt: null })).toBe(0);
  });
});
