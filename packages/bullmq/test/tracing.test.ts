/**
 * One trace across processes: this process starts and signals a run inside an
 * active span; a worker process (with its own SDK, writing spans to a file)
 * advances it. The worker's run and step spans must sit in this trace, under
 * the client's `parkway.start` and `parkway.signal` spans.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { SpanKind, trace } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { SpanAttributes as A } from "@parkway/core";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ParkwayClient } from "../src/index.js";
import { eventually, REDIS_URL, stopWorker, testSpace } from "./helpers.js";
import { traced } from "./fixtures/traced-workflows.mjs";

const TRACED_WORKER = fileURLToPath(new URL("./fixtures/traced-worker.mjs", import.meta.url));

/** A span as the worker process wrote it. */
interface WorkerSpan {
  readonly name: string;
  readonly kind: SpanKind;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly attributes: Record<string, unknown>;
}

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const space = testSpace();
const dir = mkdtempSync(join(tmpdir(), "parkway-trace-"));
const spansFile = join(dir, "worker-spans.jsonl");
let redis: Redis;
let client: ParkwayClient;
let worker: ChildProcess;

beforeAll(async () => {
  provider.register({ propagator: new W3CTraceContextPropagator() });
  redis = new Redis(REDIS_URL);
  client = new ParkwayClient({ connection: REDIS_URL, namespace: space.namespace });
  worker = await startTracedWorker();
});

afterAll(async () => {
  await stopWorker(worker, "SIGKILL");
  await client.close();
  await space.cleanup(redis);
  await redis.quit();
  await provider.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

/** The traced worker process, resolved once it is consuming. */
async function startTracedWorker(): Promise<ChildProcess> {
  const child = spawn(process.execPath, [TRACED_WORKER], {
    env: { ...process.env, REDIS_URL, PARKWAY_NAMESPACE: space.namespace, PARKWAY_SPANS: spansFile },
    stdio: ["ignore", "inherit", "pipe"],
  });
  await new Promise<void>((resolve, reject) => {
    let text = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      text += chunk.toString();
      process.stderr.write(chunk);
      if (text.includes(`traced-worker ${child.pid}: ready`)) resolve();
    });
    child.once("exit", (code) => reject(new Error(`traced worker exited with ${code} before it was ready: ${text}`)));
  });
  return child;
}

function workerSpans(): WorkerSpan[] {
  let text = "";
  try {
    text = readFileSync(spansFile, "utf8");
  } catch {
    return [];
  }
  return text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as WorkerSpan);
}

describe("tracing across processes", () => {
  it("one trace shows the client's start and signal and the worker's run attempts and steps, parent to child", async () => {
    const tracer = trace.getTracer("parkway-test");
    const id = "traced-1";
    const root = await tracer.startActiveSpan("checkout request", async (span) => {
      await client.start(traced, 1, { id });
      await eventually(async () => (await client.status(id)).status === "parked" || undefined, "the run to park");
      await client.signal(id, "approved", { by: "ana" });
      await expect(client.result(id, { timeout: "30s" })).resolves.toBe("shipped for ana");
      span.end();
      return span.spanContext();
    });

    // The client's spans, recorded in this process.
    const local = exporter.getFinishedSpans();
    const start = local.find((s) => s.name === "parkway.start traced")!;
    const signal = local.find((s) => s.name === "parkway.signal approved")!;
    expect(start.parentSpanContext?.spanId).toBe(root.spanId);
    expect(signal.parentSpanContext?.spanId).toBe(root.spanId);
    expect(start.kind).toBe(SpanKind.PRODUCER);

    // The worker's, from its file: both attempts and every step executed, once they all ended.
    const spans = await eventually(async () => {
      const found = workerSpans().filter((s) => s.attributes[A.instanceId] === id);
      // A run span ends after its last step span: wait for both attempts' run spans too.
      const steps = found.filter((s) => s.name.startsWith("parkway.step")).length;
      const runs = found.filter((s) => s.name.startsWith("parkway.run")).length;
      return steps >= 4 && runs >= 2 ? found : undefined;
    }, "the worker's spans");
    for (const s of spans) expect(s.traceId, s.name).toBe(root.traceId);

    const runs = spans.filter((s) => s.name === "parkway.run traced");
    expect(runs).toHaveLength(2);
    const first = runs.find((r) => r.parentSpanId === start.spanContext().spanId);
    const second = runs.find((r) => r.parentSpanId === signal.spanContext().spanId);
    expect(first?.attributes[A.outcome]).toBe("parked");
    expect(second?.attributes[A.outcome]).toBe("completed");
    expect(first?.kind).toBe(SpanKind.CONSUMER);
    expect(first?.attributes).toMatchObject({ [A.workflow]: "traced", [A.instanceId]: id, [A.hash]: traced.hash });

    const stepsUnder = (run: WorkerSpan | undefined) =>
      spans.filter((s) => s.parentSpanId === run?.spanId).map((s) => [s.name, s.attributes[A.outcome]]);
    expect(stepsUnder(first)).toEqual([
      ["parkway.step reserve", "committed"],
      ["parkway.step approval", "parked"],
    ]);
    expect(stepsUnder(second)).toEqual([
      ["parkway.step approval", "committed"],
      ["parkway.step ship", "committed"],
    ]);
    const reserve = spans.find((s) => s.name === "parkway.step reserve");
    expect(reserve?.attributes).toMatchObject({ [A.workflow]: "traced", [A.instanceId]: id, [A.stepKey]: "reserve", [A.attempt]: 1 });
  });
});
