/**
 * Parkway's metrics reach whatever MeterProvider the application registers
 * (here the OpenTelemetry SDK with an in-memory exporter), and unknown
 * options of the engine are refused by name.
 */
import { metrics } from "@opentelemetry/api";
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createMemoryEngine, flow, MetricNames, NonRetryableError } from "../src/index.js";

const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
const provider = new MeterProvider({ readers: [reader] });

beforeAll(() => {
  metrics.setGlobalMeterProvider(provider);
});
afterAll(async () => {
  await provider.shutdown();
  metrics.disable();
});

/** Every data point exported, by metric name. */
async function collected(): Promise<Map<string, { attributes: Record<string, unknown>; value: unknown }[]>> {
  await reader.forceFlush();
  const byName = new Map<string, { attributes: Record<string, unknown>; value: unknown }[]>();
  for (const resource of exporter.getMetrics().slice(-1))
    for (const scope of resource.scopeMetrics)
      for (const metric of scope.metrics)
        byName.set(
          metric.descriptor.name,
          metric.dataPoints.map((p) => ({ attributes: p.attributes, value: p.value })),
        );
  return byName;
}

it("runs started, runs finished by outcome and step durations are counted on the registered MeterProvider", async () => {
  const ok = flow<number>("metrics-ok")
    .then("one", (n) => n + 1)
    .then("two", (n) => n + 1)
    .build();
  const bad = flow<null>("metrics-bad")
    .then("boom", () => {
      throw new NonRetryableError("no");
    })
    .build();
  const engine = createMemoryEngine({ workflows: [ok, bad] });
  try {
    await engine.start(ok, 1, { id: "a" });
    await engine.start(ok, 1, { id: "a" }); // an existing id starts nothing
    await engine.start(bad, null, { id: "b" });
    await engine.result("a");
    await expect(engine.result("b")).rejects.toMatchObject({ code: "RUN_FAILED" });
  } finally {
    await engine.close();
  }
  const points = await collected();
  expect(points.get(MetricNames.runsStarted)).toEqual(
    expect.arrayContaining([
      { attributes: { "parkway.workflow.name": "metrics-ok" }, value: 1 },
      { attributes: { "parkway.workflow.name": "metrics-bad" }, value: 1 },
    ]),
  );
  expect(points.get(MetricNames.runsFinished)).toEqual(
    expect.arrayContaining([
      { attributes: { "parkway.workflow.name": "metrics-ok", "parkway.outcome": "completed" }, value: 1 },
      { attributes: { "parkway.workflow.name": "metrics-bad", "parkway.outcome": "failed" }, value: 1 },
    ]),
  );
  const steps = points.get(MetricNames.stepDuration) ?? [];
  const count = (outcome: string) =>
    steps.filter((p) => p.attributes["parkway.outcome"] === outcome).reduce((n, p) => n + (p.value as { count: number }).count, 0);
  expect({ committed: count("committed"), failed: count("failed") }).toEqual({ committed: 2, failed: 1 });
});

it("createMemoryEngine refuses an option it does not know, naming it", () => {
  expect(() => createMemoryEngine({ workflows: [], concurency: 4 } as never)).toThrow(
    expect.objectContaining({
      code: "VALIDATION",
      message: expect.stringContaining('createMemoryEngine: unknown option "concurency"') as unknown,
    }),
  );
});
