/**
 * Parkway's OpenTelemetry metrics, through `@opentelemetry/api` only: without
 * a registered MeterProvider (an SDK) every instrument is a no-op.
 *
 * The API has no proxy for meters (unlike tracers): a meter taken before the
 * application registers its SDK would stay a no-op for good. So instruments
 * are made on first use per provider, and made again if the provider changes.
 */
import { metrics, type Counter, type Histogram, type Meter, type MeterProvider } from "@opentelemetry/api";

/** The instruments' names, for dashboards and alerts. */
export const MetricNames = {
  /** Counter: runs created by `start` (an id that existed counts nothing). Attribute: `parkway.workflow.name`. */
  runsStarted: "parkway.runs.started",
  /** Counter: runs that ended. Attributes: `parkway.outcome` (completed, failed, cancelled), `parkway.workflow.name` when known. */
  runsFinished: "parkway.runs.finished",
  /** Histogram, seconds: a task step from its first attempt to its commit or failure. Attributes: `parkway.workflow.name`, `parkway.outcome`. */
  stepDuration: "parkway.step.duration",
  /** Histogram, seconds: how late a parked run's timed wake-up ran after it fell due. */
  wakeLag: "parkway.wake.lag",
  /** Gauge: wake-ups waiting for a free worker slot in a namespace's queue. Attribute: `parkway.namespace`. */
  runsWaiting: "parkway.runs.waiting",
} as const;

export interface ParkwayInstruments {
  readonly meter: Meter;
  readonly runsStarted: Counter;
  readonly runsFinished: Counter;
  readonly stepDuration: Histogram;
  readonly wakeLag: Histogram;
}

let made: { provider: MeterProvider; instruments: ParkwayInstruments } | null = null;

/** The instruments on the global MeterProvider (no-ops without an SDK). */
export function parkwayMetrics(): ParkwayInstruments {
  const provider = metrics.getMeterProvider();
  if (made?.provider === provider) return made.instruments;
  const meter = provider.getMeter("parkway");
  const instruments: ParkwayInstruments = {
    meter,
    runsStarted: meter.createCounter(MetricNames.runsStarted, { description: "Runs created by start" }),
    runsFinished: meter.createCounter(MetricNames.runsFinished, { description: "Runs that ended, by outcome" }),
    stepDuration: meter.createHistogram(MetricNames.stepDuration, {
      description: "Duration of a task step, from its first attempt to its commit or failure",
      unit: "s",
    }),
    wakeLag: meter.createHistogram(MetricNames.wakeLag, { description: "How late a timed wake-up ran after its due time", unit: "s" }),
  };
  made = { provider, instruments };
  return instruments;
}
