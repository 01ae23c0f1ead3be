/**
 * OpenTelemetry spans, through `@opentelemetry/api` only. Without an SDK
 * installed the API hands out its no-op tracer, so each call here costs a
 * few allocations and nothing is recorded; with one, durable runs show as
 *
 *   parkway.start <workflow>          the client's call (PRODUCER)
 *   └ parkway.run <workflow>          one attempt at advancing the run (CONSUMER)
 *     └ parkway.step <commit key>     one step executed in that attempt
 *
 * Spans live in core (the client and the checkpointing executor), so the
 * embedded engine and BullMQ workers produce the same ones; only carrying the
 * context across processes is the queue's business.
 */
import { type Attributes, context, type Context, type Span, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { ensureError } from "./errors.js";

/** The instrumentation scope of Parkway's spans. */
export const TRACER_NAME = "@parkway/core";

/** The attributes Parkway puts on its spans. */
export const SpanAttributes = Object.freeze({
  /** The workflow's name. */
  workflow: "parkway.workflow.name",
  /** The hash of the definition the run was started with. */
  hash: "parkway.workflow.hash",
  /** The run's instance id. */
  instanceId: "parkway.instance.id",
  /** The run's version when the attempt acquired it. */
  version: "parkway.run.version",
  /** The step's commit key (`charge/charge`, `poll#3`). */
  stepKey: "parkway.step.key",
  /** What the step is: `call` (a task, a join, a route's key, a loop body), `delay` or `signal`. */
  stepKind: "parkway.step.kind",
  /** The attempt of the step that ran last in this span: 1 for the first, 2 for the first retry, ... */
  attempt: "parkway.step.attempt",
  /** A signal's name. */
  signal: "parkway.signal.name",
  /**
   * How it ended. A run attempt: `completed`, `failed`, `parked`, `cancelled`, `paused`, `blocked`,
   * `lost` or `error`; a step: `committed`, `failed`, `parked` or `stopped`; `start`: `created` or
   * `existing`; `signal`: `woke` or `buffered`.
   */
  outcome: "parkway.outcome",
});

// A proxy tracer: it delegates to whichever provider is registered globally, even one registered later.
const tracer = trace.getTracer(TRACER_NAME);

/** Starts a span under `parent` (not made active: callers pass contexts explicitly). */
export function startSpan(name: string, kind: SpanKind, attributes: Attributes, parent: Context): Span {
  return tracer.startSpan(name, { kind, attributes }, parent);
}

/** Records `error` on the span as an exception and marks the span failed. */
export function recordFailure(span: Span, error: unknown): void {
  const e = ensureError(error);
  span.recordException(e);
  span.setStatus({ code: SpanStatusCode.ERROR, message: e.message });
}

/** Ends a span with its outcome, recording `error` when one is given. */
export function endSpan(span: Span, outcome: string, error?: unknown): void {
  span.setAttribute(SpanAttributes.outcome, outcome);
  if (error !== undefined) recordFailure(span, error);
  span.end();
}

/** The context with `span` as its active span. */
export function withSpan(parent: Context, span: Span): Context {
  return trace.setSpan(parent, span);
}

export { SpanKind };

/**
 * Runs `fn` in a span under `parent`, made active so spans of libraries it calls nest under it;
 * the span ends with `outcome(result)`, or with outcome `error` and the error recorded.
 */
export async function inSpan<T>(
  name: string,
  kind: SpanKind,
  attributes: Attributes,
  parent: Context,
  fn: (span: Span, ctx: Context) => Promise<T>,
  outcome: (result: T) => string,
): Promise<T> {
  const span = startSpan(name, kind, attributes, parent);
  const ctx = withSpan(parent, span);
  let result: T;
  try {
    result = await context.with(ctx, fn, undefined, span, ctx);
  } catch (e) {
    endSpan(span, "error", e);
    throw e;
  }
  endSpan(span, outcome(result));
  return result;
}
