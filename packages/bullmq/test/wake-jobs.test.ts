/**
 * Wake-up job data without an OpenTelemetry SDK (none is registered in this
 * file): nothing is carried, so jobs stay as small as they were.
 */
import { context, ROOT_CONTEXT, trace } from "@opentelemetry/api";
import { describe, expect, it } from "vitest";
import { wakeJobContext, wakeJobData } from "../src/wake-jobs.js";

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
