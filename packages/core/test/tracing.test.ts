/**
 * OpenTelemetry spans of durable runs on the embedded engine, recorded by the
 * SDK's in-memory exporter (registered globally for this test file only).
 */
import { SpanStatusCode, trace } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createMemoryEngine, type EmbeddedEngine, flow, type MemoryStore, SpanAttributes, task, type Workflow } from "../src/index.js";

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const tracer = trace.getTracer("parkway-test");

beforeAll(() => provider.register({ propagator: new W3CTraceContextPropagator() }));
afterAll(() => provider.shutdown());
afterEach(() => exporter.reset());

const A = SpanAttributes;

function spans(name: string): ReadableSpan[] {
  return exporter.getFinishedSpans().filter((s) => s.name === name);
}

function one(name: string): ReadableSpan {
  const found = spans(name);
  expect(found, `spans named "${name}"`).toHaveLength(1);
  return found[0]!;
}

function parentOf(span: ReadableSpan): string | undefined {
  return span.parentSpanContext?.spanId;
}

/** Runs `body` inside an active span named `name`; resolves with the span and body's result. */
function inCallerSpan<T>(name: string, body: () => Promise<T>): Promise<{ span: ReadableSpan; result: T }> {
  return tracer.startActiveSpan(name, async (span) => {
    try {
      const result = await body();
      return { span: span as unknown as ReadableSpan, result };
    } finally {
      span.end();
    }
  });
}

async function withEngine<T>(workflows: Workflow<never, unknown>[], body: (engine: EmbeddedEngine<MemoryStore>) => Promise<T>): Promise<T> {
  const engine = createMemoryEngine({ workflows });
  try {
    return await body(engine);
  } finally {
    await engine.close();
  }
}

describe("tracing on the embedded engine", () => {
  it("a run attempt is a parkway.run span, child of the caller's parkway.start, with a parkway.step child per step", async () => {
    const wf = flow<number>("traced")
      .then("a", (n) => n + 1)
      .then(task("b", (n: number) => n * 2))
      .build();
    await withEngine([wf], async (engine) => {
      const { span: caller } = await inCallerSpan("caller", () => engine.start(wf, 1, { id: "t-1" }));
      await expect(engine.result("t-1", { timeout: "5s" })).resolves.toBe(4);
      await engine.idle();

      const start = one("parkway.start traced");
      const run = one("parkway.run traced");
      const [a, b] = [one("parkway.step a"), one("parkway.step b")];
      const traceId = caller.spanContext().traceId;
      for (const s of [start, run, a, b]) expect(s.spanContext().traceId).toBe(traceId);
      expect(parentOf(start)).toBe(caller.spanContext().spanId);
      expect(parentOf(run)).toBe(start.spanContext().spanId);
      expect(parentOf(a)).toBe(run.spanContext().spanId);
      expect(parentOf(b)).toBe(run.spanContext().spanId);

      expect(start.attributes).toMatchObject({ [A.workflow]: "traced", [A.instanceId]: "t-1", [A.outcome]: "created" });
      expect(run.attributes).toMatchObject({ [A.workflow]: "traced", [A.instanceId]: "t-1", [A.hash]: wf.hash, [A.outcome]: "completed" });
      expect(a.attributes).toMatchObject({
        [A.workflow]: "traced",
        [A.instanceId]: "t-1",
        [A.stepKey]: "a",
        [A.stepKind]: "call",
        [A.attempt]: 1,
        [A.outcome]: "committed",
      });
      expect(b.attributes).toMatchObject({ [A.stepKey]: "b", [A.attempt]: 1, [A.outcome]: "committed" });
      for (const s of [start, run, a, b]) expect(s.status.code).not.toBe(SpanStatusCode.ERROR);
    });
  });

  it("a failing step records its error on the step span and the run span, each retried attempt as an exception event", async () => {
    const wf = flow<number>("breaks")
      .then("ok", (n) => n)
      .then(
        task(
          "boom",
          (): number => {
            throw new Error("out of stock");
          },
          { retry: { maxAttempts: 3, backoff: { initial: 1, max: 1 } } },
        ),
      )
      .build();
    await withEngine([wf], async (engine) => {
      await engine.start(wf, 1, { id: "t-2" });
      await expect(engine.result("t-2", { timeout: "5s" })).rejects.toThrow("out of stock");
      await engine.idle();

      const step = one("parkway.step boom");
      expect(step.status).toEqual({ code: SpanStatusCode.ERROR, message: "out of stock" });
      expect(step.attributes).toMatchObject({ [A.stepKey]: "boom", [A.attempt]: 3, [A.outcome]: "failed" });
      const exceptions = step.events.filter((e) => e.name === "exception");
      expect(exceptions).toHaveLength(3);
      expect(exceptions.every((e) => e.attributes?.["exception.message"] === "out of stock")).toBe(true);

      const run = one("parkway.run breaks");
      expect(run.status.code).toBe(SpanStatusCode.ERROR);
      expect(run.attributes[A.outcome]).toBe("failed");
      expect(run.events.some((e) => e.name === "exception" && e.attributes?.["exception.message"] === "out of stock")).toBe(true);
      expect(one("parkway.step ok").status.code).not.toBe(SpanStatusCode.ERROR);
    });
  });

  it("a run that parks and is signalled is two attempts; the second is a child of the signal's span and skips committed steps", async () => {
    const wf = flow<number>("waits")
      .then("before", (n) => n + 1)
      .waitForSignal<{ by: string }>("approval", "approved")
      .then("after", (p) => `approved by ${p.by}`)
      .build();
    await withEngine([wf], async (engine) => {
      await inCallerSpan("starter", () => engine.start(wf, 1, { id: "t-3" }));
      await engine.idle();
      expect((await engine.status("t-3")).status).toBe("parked");
      const { span: signaller } = await inCallerSpan("signaller", () => engine.signal("t-3", "approved", { by: "ana" }));
      await expect(engine.result("t-3", { timeout: "5s" })).resolves.toBe("approved by ana");
      await engine.idle();

      const [first, second] = spans("parkway.run waits").sort(
        (x, y) => (x.attributes[A.version] as number) - (y.attributes[A.version] as number),
      );
      expect(first!.attributes[A.outcome]).toBe("parked");
      expect(second!.attributes[A.outcome]).toBe("completed");
      expect(parentOf(first!)).toBe(one("parkway.start waits").spanContext().spanId);
      const signal = one("parkway.signal approved");
      expect(parentOf(signal)).toBe(signaller.spanContext().spanId);
      expect(signal.attributes).toMatchObject({ [A.instanceId]: "t-3", [A.signal]: "approved", [A.outcome]: "woke" });
      expect(parentOf(second!)).toBe(signal.spanContext().spanId);

      const stepsOf = (run: ReadableSpan) =>
        exporter
          .getFinishedSpans()
          .filter((s) => parentOf(s) === run.spanContext().spanId)
          .map((s) => [s.attributes[A.stepKey], s.attributes[A.outcome]]);
      expect(stepsOf(first!)).toEqual([
        ["before", "committed"],
        ["approval", "parked"],
      ]);
      expect(stepsOf(second!)).toEqual([
        ["approval", "committed"],
        ["after", "committed"],
      ]);
      expect(one("parkway.step before").attributes[A.stepKind]).toBe("call");
      expect(spans("parkway.step approval").every((s) => s.attributes[A.stepKind] === "signal")).toBe(true);
    });
  });

  it("a task's own spans nest under its step span", async () => {
    const wf = flow<number>("nests")
      .then("work", async (n) => tracer.startActiveSpan("user.call", (span) => (span.end(), n)))
      .build();
    await withEngine([wf], async (engine) => {
      await engine.start(wf, 1, { id: "t-4" });
      await engine.result("t-4", { timeout: "5s" });
      await engine.idle();
      expect(parentOf(one("user.call"))).toBe(one("parkway.step work").spanContext().spanId);
    });
  });

  it("a run started outside any span gets a trace of its own, rooted at parkway.start", async () => {
    const wf = flow<number>("rooted")
      .then("x", (n) => n)
      .build();
    await withEngine([wf], async (engine) => {
      await engine.start(wf, 1, { id: "t-5" });
      await engine.result("t-5", { timeout: "5s" });
      await engine.idle();
      const start = one("parkway.start rooted");
      expect(parentOf(start)).toBeUndefined();
      expect(parentOf(one("parkway.run rooted"))).toBe(start.spanContext().spanId);
    });
  });
});
